// Switching back to the tab is an urgent wake-up. Headless Firefox really
// hides a tab when another one is brought to the front, so this is the
// browser's own visibilitychange, not a synthetic one.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, assertNothingArrives, firefoxTest, GIVE_UP_FAST, ingestReadings, openClient, pending,
  restartServer, waitFor, waitForArrival, waitForDrainToGiveUp, waitForEmptyOutbox,
} from './helpers/firefox.js';

firefoxTest('records queued while the server is down arrive when the page becomes visible again', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);

  const other = await newPage(); // a blank tab of no origin of ours: wakes nothing
  await other.bringToFront();
  await waitFor(async () => (await page.evaluate(() => document.visibilityState)) === 'hidden', 10_000, 'the tab to be hidden');
  await restartServer(server);
  await assertNothingArrives(server);
  assert.equal(await pending(page), 50);

  await page.bringToFront();
  await waitFor(async () => (await page.evaluate(() => document.visibilityState)) === 'visible', 10_000, 'the tab to be visible');
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(page);
  await assertExactlyOnce(server, 50);
});
