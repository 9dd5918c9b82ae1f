// Without Background Sync nothing starts a drain once the last tab is gone,
// but one already under way is not cut off by the tab closing: Firefox keeps
// the worker alive for its pending waitUntil() (up to ~60 s after the last
// event), so uploads that were retrying still land when the server returns.
// This is what makes flush() on `visibilitychange` to hidden worthwhile.
import {
  assertExactlyOnce, events, firefoxTest, ingestReadings, openClient, restartServer, waitFor, waitForArrival,
} from './helpers/firefox.js';

firefoxTest('a drain under way finishes after the last tab closes', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, { retry: { baseMs: 200, maxMs: 1_000, syncBudgetMs: 40_000 } });
  await server.stop();
  await ingestReadings(page, 50);
  await waitFor(async () => (await events(page)).some((e) => e.type === 'error'), 15_000, 'an upload to fail');
  await page.close(); // the last page of the origin

  await new Promise((r) => setTimeout(r, 2_000));
  await restartServer(server);
  await waitForArrival(server, 50, 30_000);
  await assertExactlyOnce(server, 50);
});
