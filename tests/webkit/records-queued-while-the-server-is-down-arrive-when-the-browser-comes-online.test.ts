// The page's `online` event is an urgent wake-up. WebDriver has no offline
// mode, so this test runs the browser in a network namespace of its own
// (helpers/netns.ts, root only: `unshare -n`) and takes its default route
// away and back: WebKitGTK fires real `offline` and `online` events. Loopback
// still works without the route, so the server is stopped as well, so that
// the worker's uploads fail while "offline".
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, assertNothingArrives, GIVE_UP_FAST, ingestReadings, openClient, pending, waitFor,
  waitForArrival, waitForDrainToGiveUp, waitForEmptyOutbox,
} from '../helpers/browser-driver.js';
import { NetworkNamespace } from './helpers/netns.js';
import { restartServer, webkitTest } from './helpers/webkit.js';

/** WebKitGTK notices a route change within a few seconds (~6 s seen). */
const NETWORK_CHANGE_TIMEOUT_MS = 20_000;

webkitTest('records queued while the server is down arrive when the browser comes back online: 50', async ({ server, newPage }, t) => {
  const ns = t.namespace!;
  const page = await newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await page.evaluate(() => {
    const w = window as any;
    w.networkEvents = [];
    addEventListener('online', () => w.networkEvents.push('online'));
    addEventListener('offline', () => w.networkEvents.push('offline'));
  });
  const networkEvents = (): Promise<string[]> => page.evaluate(() => (window as any).networkEvents as string[]);
  assert.equal(await page.evaluate(() => navigator.onLine), true);

  await ns.setOnline(false);
  let since = Date.now();
  await waitFor(async () => (await networkEvents()).includes('offline'), NETWORK_CHANGE_TIMEOUT_MS, 'the offline event');
  t.diagnostic(`offline event ${Date.now() - since} ms after the default route went (routes now: ${JSON.stringify(await ns.routes())})`);
  assert.equal(await page.evaluate(() => navigator.onLine), false);
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);

  await restartServer(server);
  await assertNothingArrives(server); // the drain gave up; nothing retries by itself
  assert.equal(await pending(page), 50);

  await ns.setOnline(true);
  since = Date.now();
  await waitFor(async () => (await networkEvents()).includes('online'), NETWORK_CHANGE_TIMEOUT_MS, 'the online event');
  t.diagnostic(`online event ${Date.now() - since} ms after the default route came back`);
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(page);
  assert.deepEqual(await networkEvents(), ['offline', 'online']);
  await assertExactlyOnce(server, 50);
}, { namespace: (server) => NetworkNamespace.create(server.port) });
