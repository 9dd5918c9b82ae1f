// Without Background Sync (forced here, as in Firefox and Safari) records
// must still go out. Each test leaves records queued after the drain gave up,
// then fires exactly one kind of wake-up and counts what arrives.
import type { Page } from '@playwright/test';
import type { TestServer } from '../helpers/server.js';
import { test, expect, openClient, ingestReadings, pending, expectArrived, expectExactlyOnce, FAST_RETRY, drainsIdle } from './fixtures.js';

const FALLBACK = { ...FAST_RETRY, forceSyncFallback: true };

/** Queues `n` records while the server is down and waits until the SW's drain has given up. */
async function queueWhileDown(page: Page, server: TestServer, n: number): Promise<void> {
  await page.evaluate(() => {
    (window as any).client.registration.sync.register = () => Promise.reject(new Error('Background Sync used despite forceSyncFallback'));
  });
  await server.stop();
  await ingestReadings(page, n);
  await drainsIdle(page); // the drain woken by the write gave up
  await server.start();
  await page.waitForTimeout(1_000);
  expect(await server.count('Reading')).toBe(0); // nothing retries by itself
  expect(await pending(page)).toBe(n);
}

test('fallback: records go out when the page becomes visible', async ({ page, server }) => {
  await openClient(page, server.url, FALLBACK);
  await queueWhileDown(page, server, 50);
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange'))); // headless pages are always visible
  await expectArrived(server, 50);
  await expectExactlyOnce(server, 50);
});

test('fallback: records go out when the device comes back online', async ({ context, page, server }) => {
  await openClient(page, server.url, FALLBACK);
  await context.setOffline(true);
  await ingestReadings(page, 50);
  await drainsIdle(page);
  expect(await pending(page)).toBe(50);
  await context.setOffline(false); // fires `online` in the page
  await expectArrived(server, 50);
  await expectExactlyOnce(server, 50);
});

test('fallback: records go out on the next visit, when the service worker starts', async ({ context, page, server }) => {
  await openClient(page, server.url, FALLBACK);
  await queueWhileDown(page, server, 50);
  const cdp = await context.newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await page.close();

  const next = await context.newPage();
  await openClient(next, server.url, FALLBACK);
  await expectArrived(server, 50);
  await expect.poll(() => pending(next)).toBe(0);
  await expectExactlyOnce(server, 50);
});

test('fallback: records go out on flush()', async ({ page, server }) => {
  await openClient(page, server.url, FALLBACK);
  await queueWhileDown(page, server, 50);
  await page.evaluate(() => (window as any).client.flush());
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, 50);
});
