// The page's `online` event is an urgent wake-up. Firefox's offline
// emulation (puppeteer's page.setOfflineMode over WebDriver BiDi) takes the
// page offline and fires real `offline`/`online` events, but it does not
// reach the service worker's fetches; the server is stopped as well so that
// the worker's uploads fail while "offline".
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, assertNothingArrives, firefoxTest, GIVE_UP_FAST, ingestReadings, openClient, pending,
  restartServer, waitFor, waitForArrival, waitForDrainToGiveUp, waitForEmptyOutbox,
} from './helpers/firefox.js';

firefoxTest('records queued while the server is down arrive when the browser comes back online', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await page.evaluate(() => {
    const w = window as any;
    w.onlineEvents = 0;
    addEventListener('online', () => w.onlineEvents++);
  });
  await page.setOfflineMode(true);
  assert.equal(await page.evaluate(() => navigator.onLine), false);
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);

  await restartServer(server);
  await assertNothingArrives(server); // the drain gave up; nothing retries by itself
  assert.equal(await pending(page), 50);

  await page.setOfflineMode(false); // Firefox fires `online` in the page
  await waitFor(async () => (await page.evaluate(() => (window as any).onlineEvents)) > 0, 10_000, 'the online event');
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(page);
  await assertExactlyOnce(server, 50);
});
