// With a page open, the drain that a write started keeps retrying with
// backoff while the server is down (the worker's own timer, kept alive by
// the message event's waitUntil: WebKit lets it run while a page of the
// origin is open), and delivers when the server returns, with no other wake-up.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, drainRunning, events, ingestReadings, openClient, pending, waitFor, waitForArrival,
  waitForEmptyOutbox,
} from '../helpers/browser-driver.js';
import { restartServer, webkitTest } from './helpers/webkit.js';

webkitTest('records queued while the server is down arrive by the worker\'s own retry when it returns: 50', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, { retry: { baseMs: 200, maxMs: 1_000, syncBudgetMs: 30_000 } });
  await server.stop();
  await ingestReadings(page, 50);
  assert.equal(await pending(page), 50);

  const failures = async (): Promise<number> => (await events(page)).filter((e) => e.type === 'error').length;
  await waitFor(async () => (await failures()) >= 2, 15_000, 'the drain to fail and retry');
  assert.equal(await drainRunning(page), true, 'the drain is still retrying');

  await restartServer(server);
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(page);
  await assertExactlyOnce(server, 50);
});
