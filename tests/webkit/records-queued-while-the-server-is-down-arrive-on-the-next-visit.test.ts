// Without Background Sync nothing uploads after the last tab of the site
// closed; the next visit (open() wakes the worker) delivers what was left.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, assertNothingArrives, GIVE_UP_FAST, ingestReadings, openClient, pending, waitForArrival,
  waitForDrainToGiveUp, waitForEmptyOutbox,
} from '../helpers/browser-driver.js';
import { restartServer, webkitTest } from './helpers/webkit.js';

webkitTest('records queued while the server is down arrive on the next visit: 50', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);
  await page.close(); // the session's blank window stays open

  await restartServer(server);
  await assertNothingArrives(server, 3_000); // no page of the site open: no wake-up

  const next = await newPage();
  await openClient(next, server.url, GIVE_UP_FAST);
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(next);
  assert.equal(await pending(next), 0);
  await assertExactlyOnce(server, 50);
});
