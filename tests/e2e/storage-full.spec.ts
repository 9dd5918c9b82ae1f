import { test, expect, openClient, pending, expectExactlyOnce } from './fixtures.js';

test('a real quota error rejects ingest() with quota-exceeded and loses nothing already queued', async ({ context, page, server }) => {
  await page.goto(`${server.url}/`);
  // Chromium's quota manager enforces this on writes made after it is set (navigator.storage.estimate() does not show it).
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url, quotaSize: 2 * 1024 * 1024 });
  await openClient(page, server.url);
  await context.setOffline(true);

  const outcome = await page.evaluate(async () => {
    const { client } = window as any;
    // Random text: IndexedDB compresses what it stores, so repeated characters would barely use any quota.
    const pad = () => Array.from(crypto.getRandomValues(new Uint8Array(1_000)), (b) => b.toString(16).padStart(2, '0')).join('');
    let resolved = 0;
    for (let chunk = 0; chunk < 10_000; chunk++) {
      const docs = Array.from({ length: 20 }, (_, i) => ({ deviceId: pad(), seq: resolved + i, temp: 1, at: new Date() }));
      try {
        await client.ingest('Reading', docs);
      } catch (e: any) {
        return { resolved, code: e.code, name: e.name, message: e.message };
      }
      resolved += docs.length;
    }
    return { resolved, code: 'none' };
  });
  expect(outcome.code).toBe('quota-exceeded');
  expect(outcome.name).toBe('IngestError');
  expect(outcome.resolved).toBeGreaterThan(100);
  expect(await pending(page)).toBe(outcome.resolved); // the failed write added nothing, the rest is intact

  await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url }); // space freed
  await context.setOffline(false);
  await page.evaluate(() => (window as any).client.flush({ timeoutMs: 60_000 }));
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, outcome.resolved);
});

test('the outbox cap rejects writes past it with outbox-full, all or nothing', async ({ context, page, server }) => {
  await openClient(page, server.url, { maxPendingRecords: 100 });
  await context.setOffline(true);
  const codes = await page.evaluate(async () => {
    const w = window as any;
    await w.ingestReadings(w.client, 98, 0);
    const five = await w.ingestReadings(w.client, 5, 98).then(() => 'ok', (e: any) => e.code); // one write of 5 → over
    const two = await w.ingestReadings(w.client, 2, 98).then(() => 'ok', (e: any) => e.code); // fits exactly
    const one = await w.client.ingest('Reading', { deviceId: 'd1', seq: 100, temp: 1, at: new Date() }).then(() => 'ok', (e: any) => e.code);
    return { five, two, one };
  });
  // ingestReadings makes one call per record in the same task: they share one transaction, so 5 fail together.
  expect(codes).toEqual({ five: 'outbox-full', two: 'ok', one: 'outbox-full' });
  expect(await pending(page)).toBe(100);

  await context.setOffline(false);
  await page.evaluate(() => (window as any).client.flush());
  await expectExactlyOnce(server, 100);
  // Room again once delivered.
  await page.evaluate(() => (window as any).ingestReadings((window as any).client, 50, 100));
  await page.evaluate(() => (window as any).client.flush());
  await expectExactlyOnce(server, 150);
});
