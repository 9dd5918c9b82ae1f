// While a page stays open, records queued while the server is down should
// go out when it returns, however long it was down: "a timer while a page is
// open" is one of the drain's wake-ups.
//
// Firefox ends a service worker 30 s after its last event, or 30 s later
// still when a waitUntil() is pending (dom.serviceWorkers.idle_timeout and
// idle_extended_timeout): the drain a write's message started dies ~60 s
// after that message, in the middle of its backoff and long before
// retry.syncBudgetMs (150 s by default). Nothing restarts it while the page
// sits idle, so the records wait for the next write, visibility change,
// `online`, visit or flush() — unless the page keeps the worker awake: while
// records are pending, the client re-sends the (not urgent) drain message
// every KEEP_ALIVE_MS (20 s). This test shows it (it takes ~2 minutes).
import {
  assertExactlyOnce, drainRunning, events, firefoxTest, ingestReadings, openClient, restartServer, waitFor,
  waitForArrival, waitForEmptyOutbox,
} from './helpers/firefox.js';

firefoxTest('a page left open keeps retrying past the worker\'s lifetime', async ({ server, newPage }, t) => {
  const page = await newPage();
  await openClient(page, server.url, { retry: { baseMs: 1_000, maxMs: 5_000, syncBudgetMs: 150_000 } });
  await server.stop();
  await ingestReadings(page, 50);
  await waitFor(async () => (await events(page)).some((e) => e.type === 'error'), 30_000, 'an upload to fail');

  await new Promise((r) => setTimeout(r, 75_000)); // past Firefox's 60 s; well within the 150 s budget
  t.diagnostic(`drain still running after 75 s: ${await drainRunning(page)}`);
  await restartServer(server);
  await waitForArrival(server, 50, 30_000); // the next retry is due within retry.maxMs (5 s)
  await waitForEmptyOutbox(page);
  await assertExactlyOnce(server, 50);
});
