/**
 * Watches what reaches the server while no page of the site is open: how
 * much a worker delivers after its last page closed, before WebKit stops it.
 */
import type { TestServer } from '../../helpers/server.js';

/** What {@link arrivalsWithNoPage} saw. */
export interface Arrivals {
  /** Readings stored when the count had settled. */
  count: number;
  /** When the last of them arrived, in ms after the watch began (0 when none did). */
  lastArrivalMs: number;
  /** Every change of the count: [ms since the watch began, count]. */
  timeline: Array<[number, number]>;
}

/**
 * Polls the server's count from now until it has not changed for `quietMs`
 * after at least `minMs` (WebKit stops a worker with no page ~10 s after
 * its last page: 20 s covers it with room to spare).
 */
export async function arrivalsWithNoPage(server: TestServer, { minMs = 20_000, quietMs = 5_000, maxMs = 90_000 } = {}): Promise<Arrivals> {
  const start = Date.now();
  let count = await server.count('Reading');
  let changedAt = start;
  const timeline: Array<[number, number]> = [[0, count]];
  while (Date.now() - start < maxMs) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await server.count('Reading');
    if (now !== count) {
      count = now;
      changedAt = Date.now();
      timeline.push([changedAt - start, count]);
    }
    if (Date.now() - start >= minMs && Date.now() - changedAt >= quietMs) break;
  }
  return { count, lastArrivalMs: timeline.length > 1 ? changedAt - start : 0, timeline };
}
