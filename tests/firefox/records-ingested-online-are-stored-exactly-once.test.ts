// Online, Firefox uploads with no Background Sync: the message the page
// posts after each write starts the drain, and flush() empties the outbox
// on demand. The worker's 'uploaded' events reach the page over BroadcastChannel.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, events, firefoxTest, flush, ingestReadings, openClient, pending, waitFor, waitForArrival,
  waitForEmptyOutbox,
} from './helpers/firefox.js';

firefoxTest('records ingested online are stored exactly once, by the write wake-up and by flush()', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url);
  assert.equal(await page.evaluate(() => 'SyncManager' in window), false, 'Firefox has no Background Sync');

  // The write's own wake-up message: no flush, no other event.
  await ingestReadings(page, 100);
  await waitForArrival(server, 100);
  await waitForEmptyOutbox(page);
  const announced = async (): Promise<number> =>
    (await events(page)).filter((e) => e.type === 'uploaded').reduce((n, e) => n + (e.count ?? 0), 0);
  await waitFor(async () => (await announced()) === 100, 30_000, "the worker's 'uploaded' events (BroadcastChannel) to count 100");

  // flush(): resolves only once the outbox is empty.
  await ingestReadings(page, 100, 100);
  assert.equal(await flush(page), 'ok');
  assert.equal(await pending(page), 0);
  await assertExactlyOnce(server, 200);
});
