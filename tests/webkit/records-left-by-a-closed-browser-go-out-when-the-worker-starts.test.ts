// The worker drains when it starts, with no message asking it to: after a
// relaunch of the browser on its profile, a page that never calls open()
// and only starts the worker (a message the worker ignores) is enough for
// queued records to go out.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, GIVE_UP_FAST, ingestReadings, openClient, pending, waitForArrival, waitForDrainToGiveUp,
} from '../helpers/browser-driver.js';
import { restartServer, webkitTest } from './helpers/webkit.js';

webkitTest('records left by a closed browser go out when the worker starts: 50', async (ctx) => {
  const { server } = ctx;
  const page = await ctx.newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);

  await ctx.relaunch(); // ends the session (the browser quits, its worker with it) and starts it again on the same profile
  await restartServer(server);
  const next = await ctx.newPage();
  await next.goto(`${server.url}/`);
  await next.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    registration.active!.postMessage({ type: 'not-an-sw-ingest-message' });
  });
  await waitForArrival(server, 50);

  await openClient(next, server.url, GIVE_UP_FAST);
  assert.equal(await pending(next), 0);
  await assertExactlyOnce(server, 50);
});
