// Coming back into view is an urgent wake-up. WebDriver's minimize makes
// WebKitGTK hide the page (a real visibilitychange); maximize shows it again.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, assertNothingArrives, GIVE_UP_FAST, ingestReadings, openClient, pending, waitFor,
  waitForArrival, waitForDrainToGiveUp, waitForEmptyOutbox,
} from '../helpers/browser-driver.js';
import { restartServer, webkitTest } from './helpers/webkit.js';

webkitTest('records queued while the server is down arrive when the page becomes visible again: 50', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await page.evaluate(() => {
    const w = window as any;
    w.visibilityChanges = [];
    document.addEventListener('visibilitychange', () => w.visibilityChanges.push(document.visibilityState));
  });
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);

  await page.minimize();
  await waitFor(async () => (await page.visibility()) === 'hidden', 10_000, 'the page to be hidden');
  await restartServer(server);
  await assertNothingArrives(server);
  assert.equal(await pending(page), 50);

  await page.maximize();
  await waitFor(async () => (await page.visibility()) === 'visible', 10_000, 'the page to be visible');
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(page);
  assert.deepEqual(await page.evaluate(() => (window as any).visibilityChanges as string[]), ['hidden', 'visible']);
  await assertExactlyOnce(server, 50);
});
