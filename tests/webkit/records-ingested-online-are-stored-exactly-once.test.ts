// Online, WebKit uploads with no Background Sync: the message the page
// posts after each write starts the drain, and flush() empties the outbox
// on demand. The worker's 'uploaded' events reach the page over BroadcastChannel.
import assert from 'node:assert/strict';
import {
  announcedUploads, assertExactlyOnce, flush, ingestReadings, openClient, pending, waitFor, waitForArrival,
  waitForEmptyOutbox,
} from '../helpers/browser-driver.js';
import { webkitTest } from './helpers/webkit.js';

webkitTest('records ingested online are stored exactly once, by the write wake-up and by flush(): 200', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url);
  assert.equal(await page.evaluate(() => 'SyncManager' in window), false, 'WebKit has no Background Sync');

  // The write's own wake-up message: no flush, no other event.
  await ingestReadings(page, 100);
  await waitForArrival(server, 100);
  await waitForEmptyOutbox(page);
  await waitFor(async () => (await announcedUploads(page)) === 100, 30_000, "the worker's 'uploaded' events (BroadcastChannel) to count 100");

  // flush(): resolves only once the outbox is empty.
  await ingestReadings(page, 100, 100);
  assert.equal(await flush(page), 'ok');
  assert.equal(await pending(page), 0);
  await assertExactlyOnce(server, 200);
});
