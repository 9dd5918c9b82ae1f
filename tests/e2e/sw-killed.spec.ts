import { test, expect, openClient, ingestReadings, pending, expectExactlyOnce, FAST_RETRY } from './fixtures.js';

test('a service worker killed mid-drain loses nothing and doubles nothing', async ({ context, page, server }) => {
  const total = 20_000;
  await openClient(page, server.url, { ...FAST_RETRY, batchMaxRecords: 100 });
  await context.setOffline(true);
  await ingestReadings(page, total);
  expect(await pending(page)).toBe(total);

  const cdp = await context.newCDPSession(page);
  const statuses: string[] = [];
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const v of versions) statuses.push(v.runningStatus);
  });
  await cdp.send('ServiceWorker.enable');
  await context.setOffline(false); // the sync fires and the drain starts
  let atKill = 0;
  await expect.poll(async () => (atKill = await server.count('Reading')), { intervals: [10], timeout: 30_000 }).toBeGreaterThan(0);
  const seen = statuses.length;
  await cdp.send('ServiceWorker.stopAllWorkers');
  atKill = await server.count('Reading');
  expect(atKill).toBeLessThan(total); // killed in the middle, not after
  await expect.poll(() => statuses.slice(seen)).toContain('stopped');

  // Chromium may restart the worker for the interrupted sync; either way flush() must end with everything once.
  await page.evaluate(() => (window as any).client.flush({ timeoutMs: 60_000 })); // wakes a new worker
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, total);
});
