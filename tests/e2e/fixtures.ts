/**
 * Shared fixtures of the browser tests: a real server per test, a page with
 * an open client, and the exactly-once check every test ends with.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { assertExactlyOnce, drainRunning, GIVE_UP_FAST } from '../helpers/browser-driver.js';
import { TestServer } from '../helpers/server.js';

export { expect };

export const test = base.extend<{ server: TestServer }>({
  // eslint-disable-next-line no-empty-pattern
  server: async ({}, use) => {
    const server = await new TestServer().start();
    await use(server);
    await server.dispose();
  },
});

/** Loads the test page from `origin` and opens a client as `window.client`. */
export async function openClient(page: Page, origin: string, options: Record<string, unknown> = {}): Promise<void> {
  await page.goto(`${origin}/`);
  await page.evaluate(async (opts) => {
    const w = window as any;
    w.client = await w.SwIngest.open({
      endpoint: '/api/ingest',
      serviceWorker: '/sw-ingest-sw.js',
      schema: w.readingSchema,
      ...opts,
    });
  }, options);
}

/** Ingests readings `from … from+count-1` in the page, resolving when all committed. */
export function ingestReadings(page: Page, count: number, from = 0): Promise<number> {
  return page.evaluate(([n, f]) => (window as any).ingestReadings((window as any).client, n, f), [count, from] as const);
}

/** The client's pending count. */
export function pending(page: Page): Promise<number> {
  return page.evaluate(() => (window as any).client.pending());
}

/** Fast retries for tests: a sync event gives up after `syncBudgetMs` (the engine-neutral driver's GIVE_UP_FAST). */
export const FAST_RETRY = GIVE_UP_FAST;

/**
 * The check every delivery test ends with: the server holds exactly the
 * readings `0 … expected-1`, each once, with distinct primary keys (the
 * engine-neutral driver's check, shared with the Firefox and WebKit suites).
 */
export const expectExactlyOnce = assertExactlyOnce;

/** Waits until the server has stored `expected` readings. */
export async function expectArrived(server: TestServer, expected: number, timeoutMs = 30_000): Promise<void> {
  await expect.poll(() => server.count('Reading'), { timeout: timeoutMs, intervals: [100, 250, 500] }).toBe(expected);
}

/** Waits until every drain has given up or finished: the lock stays free for a second. */
export async function drainsIdle(page: Page, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let idleSince = 0;
  while (Date.now() < deadline) {
    if (await drainRunning(page)) idleSince = 0;
    else if (idleSince === 0) idleSince = Date.now();
    else if (Date.now() - idleSince >= 1_000) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`drains still busy after ${timeoutMs} ms`);
}
