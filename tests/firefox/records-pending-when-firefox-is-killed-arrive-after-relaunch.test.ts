// Records committed before Firefox was SIGKILLed survive in the profile's
// IndexedDB and go out on the next visit after a relaunch on the same profile.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, firefoxTest, GIVE_UP_FAST, ingestReadings, killBrowser, openClient, pending, restartServer,
  waitForArrival, waitForEmptyOutbox,
} from './helpers/firefox.js';

firefoxTest('records pending when Firefox is killed arrive on the next visit after a relaunch', async (ctx) => {
  const { server } = ctx;
  const page = await ctx.newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await server.stop();
  await ingestReadings(page, 50); // resolved: committed (strict durability)
  assert.equal(await pending(page), 50);

  await killBrowser(ctx.firefox);
  await restartServer(server);
  await ctx.relaunch();

  const next = await ctx.newPage();
  await openClient(next, server.url, GIVE_UP_FAST);
  await waitForArrival(server, 50);
  await waitForEmptyOutbox(next);
  await assertExactlyOnce(server, 50);
});
