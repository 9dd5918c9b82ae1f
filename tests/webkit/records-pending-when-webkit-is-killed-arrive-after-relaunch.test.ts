// Records committed before the browser was SIGKILLed survive in the
// profile's IndexedDB and go out on the next visit after a relaunch on the
// same profile (a new WebDriver session: the old one died with the browser).
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, GIVE_UP_FAST, ingestReadings, openClient, pending, waitForArrival, waitForDrainToGiveUp,
  waitForEmptyOutbox,
} from '../helpers/browser-driver.js';
import { restartServer, webkitTest } from './helpers/webkit.js';

webkitTest('records pending when WebKit is killed arrive on the next visit after a relaunch: 50', async (ctx, t) => {
  const { server } = ctx;
  const page = await ctx.newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await server.stop();
  await ingestReadings(page, 50); // resolved: committed (strict durability)
  await waitForDrainToGiveUp(page);
  assert.equal(await pending(page), 50);

  const killed = ctx.browser.pid;
  await ctx.browser.kill();
  await restartServer(server);
  await ctx.relaunch();
  t.diagnostic(`killed browser pid ${killed}; relaunched as pid ${ctx.browser.pid}`);

  const next = await ctx.newPage();
  await openClient(next, server.url, GIVE_UP_FAST);
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(next);
  await assertExactlyOnce(server, 50);
});
