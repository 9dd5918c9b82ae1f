// The testing kit's browser controls (sw-ingest-server/testing, as built),
// driven against the suite's own server, which can be stopped and started:
// fireSync() is Chromium's retry of a failed sync, waitForEmptyOutbox()
// asks the worker, stopServiceWorker() stops it.
import { fireSync, goOffline, goOnline, stopServiceWorker, waitForEmptyOutbox } from 'sw-ingest-server/testing';
import { test, expect, openClient, ingestReadings, pending, expectArrived, expectExactlyOnce, FAST_RETRY, drainsIdle } from './fixtures.js';

test('fireSync delivers records whose sync failed while the server was down: 200 of 200', async ({ page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  await server.stop();
  await ingestReadings(page, 200); // the sync fires at once, fails, and gives up after syncBudgetMs
  await drainsIdle(page);
  await server.start();
  await page.waitForTimeout(1_000);
  expect(await server.count('Reading')).toBe(0); // Chromium would retry in 5 minutes

  await fireSync(page);
  await expectArrived(server, 200);
  await waitForEmptyOutbox(page, { timeoutMs: 10_000 });
  await expectExactlyOnce(server, 200);
});

test('fireSync from a blank page of the context after the tab closed: 100 of 100', async ({ context, page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  await server.stop();
  await ingestReadings(page, 100);
  await drainsIdle(page);
  await page.close();
  await server.start();

  const blank = await context.newPage();
  await expect(fireSync(blank)).rejects.toThrow(/not on the app's origin; pass \{ origin \}/);
  await fireSync(blank, { origin: server.url });
  await expectArrived(server, 100);
  await expectExactlyOnce(server, 100);
});

test('waitForEmptyOutbox waits for the upload, and names what is left when it times out: 30 of 30', async ({ context, page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  await goOffline(context);
  await ingestReadings(page, 30);
  await expect(waitForEmptyOutbox(page, { timeoutMs: 500 })).rejects.toThrow('waitForEmptyOutbox: 30 records still pending after 500 ms');
  await goOnline(context); // Chromium fires the held-back sync
  await waitForEmptyOutbox(page);
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, 30);
});

test('stopServiceWorker stops the worker; the next write starts it and the records go out: 40 of 40', async ({ context, page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  const cdp = await context.newCDPSession(page);
  const statuses: string[] = [];
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const v of versions) statuses.push(v.runningStatus);
  });
  await cdp.send('ServiceWorker.enable');
  await expect.poll(() => statuses.at(-1)).toBe('running');

  // Online: a worker stopped while the context is offline may stay offline
  // after goOnline once it starts again (README, Testing your app, gotchas).
  await stopServiceWorker(page);
  await expect.poll(() => statuses.at(-1)).toBe('stopped');
  await ingestReadings(page, 40); // the write's sync starts it
  await waitForEmptyOutbox(page);
  expect(statuses.slice(statuses.lastIndexOf('stopped'))).toContain('running');
  await expectExactlyOnce(server, 40);
});
