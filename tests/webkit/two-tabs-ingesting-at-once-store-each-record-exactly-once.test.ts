// Two tabs of one origin share one outbox and one uploader (the Web Lock
// `sw-ingest:drain` in WebKit's service worker): records written by both at
// the same time are each stored exactly once. WebDriver runs one script at
// a time, so each tab runs its rounds by itself and the test only waits.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, flush, openClient, pending, waitFor, waitForArrival, waitForEmptyOutbox, type BrowserPage,
} from '../helpers/browser-driver.js';
import { webkitTest } from './helpers/webkit.js';

const ROUNDS = 5;
const PER_ROUND = 40; // per tab

/** Starts `ROUNDS` writes of `PER_ROUND` readings from `from` in the page, one every 20 ms, without waiting for them. */
function startRounds(page: BrowserPage, from: number): Promise<void> {
  return page.evaluate((rounds: number, per: number, first: number) => {
    const w = window as any;
    w.rounds = (async () => {
      for (let r = 0; r < rounds; r++) {
        await w.ingestReadings(w.client, per, first + r * per);
        await new Promise((res) => setTimeout(res, 20));
      }
      return 'done';
    })().catch((e: unknown) => String(e));
    w.rounds.then((v: string) => { w.roundsResult = v; });
  }, ROUNDS, PER_ROUND, from);
}

webkitTest('two tabs ingesting at once store each record exactly once: 400', async ({ server, newPage }) => {
  const a = await newPage();
  const b = await newPage();
  await openClient(a, server.url, { batchMaxRecords: 25 });
  await openClient(b, server.url, { batchMaxRecords: 25 });

  // Tab a writes seq 0…199, tab b 200…399; the rounds overlap uploads with writes.
  await startRounds(a, 0);
  await startRounds(b, ROUNDS * PER_ROUND);
  for (const tab of [a, b]) {
    await waitFor(async () => (await tab.evaluate(() => (window as any).roundsResult ?? null)) !== null, 30_000, 'the rounds to finish');
    assert.equal(await tab.evaluate(() => (window as any).roundsResult as string), 'done');
  }
  const total = 2 * ROUNDS * PER_ROUND;
  await waitForArrival(server, total);
  await waitForEmptyOutbox(a);
  assert.equal(await pending(b), 0);
  assert.equal(await flush(b), 'ok');
  await assertExactlyOnce(server, total);
});
