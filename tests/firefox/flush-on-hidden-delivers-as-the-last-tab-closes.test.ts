// The README's advice for browsers without Background Sync: call flush(),
// without awaiting it, when the page becomes hidden. Closing the tab hides
// it, so records that had been waiting (the drain gave up while the server
// was down) go out as the last tab of the site closes.
import {
  assertExactlyOnce, assertNothingArrives, firefoxTest, GIVE_UP_FAST, ingestReadings, openClient, restartServer,
  waitForArrival, waitForDrainToGiveUp,
} from './helpers/firefox.js';

firefoxTest('flush() on hidden delivers as the last tab closes', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);
  await restartServer(server);
  await assertNothingArrives(server);

  await page.evaluate(() => {
    const client = (window as any).client;
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'hidden') client.flush().catch(() => {});
    });
  });
  await page.close();
  await waitForArrival(server, 50, 30_000);
  await assertExactlyOnce(server, 50);
});
