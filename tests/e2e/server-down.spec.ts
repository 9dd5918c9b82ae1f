import type { Page } from '@playwright/test';
import { SYNC_TAG } from '../../lib/sw-messages.js';
import { test, expect, openClient, ingestReadings, pending, expectArrived, expectExactlyOnce, FAST_RETRY, drainsIdle } from './fixtures.js';

test('records ingested while the server is down arrive via flush() after it restarts', async ({ page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  await server.stop();
  await ingestReadings(page, 200);

  const failed = await page.evaluate(() =>
    (window as any).client.flush({ timeoutMs: 1_500 }).then(
      () => 'resolved',
      (e: any) => `${e.name}:${e.code}`,
    ),
  );
  expect(failed).toBe('IngestError:network-error'); // the cause, not just a timeout
  expect(await pending(page)).toBe(200);

  await server.start(); // same port, same database
  await page.evaluate(() => (window as any).client.flush());
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, 200);
});

/**
 * What Chromium does when it retries a sync, on demand: CDP's
 * `ServiceWorker.dispatchSyncEvent` for our tag (the browser would wait 5
 * or 15 minutes). Resolves to a function that fires it.
 */
async function syncTrigger(page: Page, origin: string): Promise<(lastChance: boolean) => Promise<unknown>> {
  const cdp = await page.context().newCDPSession(page);
  const registrations = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r) => r.scopeURL.startsWith(origin) && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registrations;
  return (lastChance) => cdp.send('ServiceWorker.dispatchSyncEvent', { origin, registrationId, tag: SYNC_TAG, lastChance });
}

test('records ingested while the server is down arrive via the next sync after it restarts', async ({ page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  const fireSync = await syncTrigger(page, server.url);

  await server.stop();
  await ingestReadings(page, 200); // registers a sync; it fires at once, fails, and gives up after syncBudgetMs
  await drainsIdle(page);
  await server.start();
  await page.waitForTimeout(1_000);
  expect(await server.count('Reading')).toBe(0); // nothing retries by itself before the next sync

  // The browser's retry of the failed sync, fired now instead of in 5 minutes.
  await fireSync(false);
  await expectArrived(server, 200);
  await expect.poll(() => pending(page)).toBe(0);
  await expectExactlyOnce(server, 200);
});

test('when the last sync attempt fails, records stay queued and the next page load sends them', async ({ page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  const fireSync = await syncTrigger(page, server.url);

  await server.stop();
  await ingestReadings(page, 100);
  await drainsIdle(page);
  // The browser's third and last attempt: it will not schedule another.
  await fireSync(true).catch(() => undefined); // the event's failure may surface here
  await drainsIdle(page);
  expect(await pending(page)).toBe(100);

  await server.start();
  await page.waitForTimeout(1_000);
  expect(await server.count('Reading')).toBe(0);
  await openClient(page, server.url, FAST_RETRY); // the next page load
  await expectArrived(server, 100);
  await expect.poll(() => pending(page)).toBe(0);
  await expectExactlyOnce(server, 100);
});
