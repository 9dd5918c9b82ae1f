// Without Background Sync nothing uploads after the last tab closed; the
// next visit (open() wakes the worker) delivers what was left.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, assertNothingArrives, firefoxTest, GIVE_UP_FAST, ingestReadings, openClient, pending,
  restartServer, waitForArrival, waitForDrainToGiveUp, waitForEmptyOutbox,
} from './helpers/firefox.js';

firefoxTest('records queued while the server is down arrive on the next visit', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);
  await page.close();

  await restartServer(server);
  await assertNothingArrives(server, 3_000); // no page open: no wake-up

  const next = await newPage();
  await openClient(next, server.url, GIVE_UP_FAST);
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(next);
  assert.equal(await pending(next), 0);
  await assertExactlyOnce(server, 50);
});
