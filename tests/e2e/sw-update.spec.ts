import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { BSON, Double, Long, ObjectId } from 'bson';
import { test, expect, openClient, ingestReadings, pending, expectExactlyOnce, FAST_RETRY, drainsIdle } from './fixtures.js';

test('an updated service worker drains what the old one left queued', async ({ page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  await server.stop();
  await ingestReadings(page, 300); // the old worker tries, fails, and gives up after syncBudgetMs
  await drainsIdle(page);
  await server.start();
  await page.waitForTimeout(1_000);
  expect(await server.count('Reading')).toBe(0);

  // Deploy a changed worker script and let the browser pick it up.
  appendFileSync(join(server.siteDir, 'sw-ingest-sw.js'), '\n// deployed: v2\n');
  const scripts = await page.evaluate(async () => {
    const reg: ServiceWorkerRegistration = (window as any).client.registration;
    const before = reg.active;
    await reg.update();
    // A bounded wait: if the new version never activates, this reports it instead of hanging.
    const deadline = Date.now() + 20_000;
    while (!(reg.active && reg.active !== before) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return { replaced: reg.active !== null && reg.active !== before, script: reg.active?.scriptURL };
  });
  expect(scripts.replaced, `a new worker version activated within 20 s (active: ${scripts.script})`).toBe(true);

  await expect.poll(() => server.count('Reading'), { timeout: 30_000 }).toBe(300);
  await expect.poll(() => pending(page)).toBe(0);
  await expectExactlyOnce(server, 300);
});

test('upgrading the IndexedDB layout from version 1 keeps every queued record', async ({ page, server }) => {
  const n = 100;
  // Records as version 1 of sw-ingest stored them: BSON documents in an auto-increment `outbox`.
  const v1Records = Array.from({ length: n }, (_, i) => Array.from(BSON.serialize({
    _id: new ObjectId(), deviceId: 'v1', seq: Long.fromNumber(i), temp: new Double(20.5), at: new Date(),
  })));
  await page.goto(`${server.url}/`);
  await page.evaluate(async (records) => {
    const db: IDBDatabase = await new Promise((resolve, reject) => {
      const req = indexedDB.open('sw-ingest', 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('outbox', { autoIncrement: true });
        req.result.createObjectStore('deadletters', { autoIncrement: true });
        req.result.createObjectStore('meta');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('outbox', 'readwrite');
      for (const r of records) tx.objectStore('outbox').add({ c: 'Reading', t: Date.now(), d: new Uint8Array(r) });
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }, v1Records);

  // Keep the records from leaving before the checks below: the server is down while the current version opens.
  await page.evaluate(async () => {
    await navigator.serviceWorker.register('/sw-ingest-sw.js');
    await navigator.serviceWorker.ready;
  });
  await server.stop();
  await page.evaluate(async (max) => {
    const w = window as any;
    w.client = await w.SwIngest.open({
      endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema, maxPendingRecords: max,
    });
  }, n + 5); // the current version opens: the upgrades run (1 → 2 counts the records, 2 → 3 keeps them as one-record entries)
  expect(await pending(page)).toBe(n);
  // The upgrade counted the v1 records: 5 more fit the cap of n + 5 (one
  // entry of 5 records, next to the v1 one-record entries), 1 more does not.
  const full = await page.evaluate(async (from) => {
    const w = window as any;
    await w.ingestReadings(w.client, 5, from);
    return w.ingestReadings(w.client, 1, from + 5).catch((e: any) => e.code);
  }, n);
  expect(full).toBe('outbox-full');
  expect(await pending(page)).toBe(n + 5);

  await server.start();
  await page.evaluate(() => (window as any).client.flush());
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, n + 5);
});
