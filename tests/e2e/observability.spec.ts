import { test, expect, openClient, ingestReadings, expectExactlyOnce, FAST_RETRY, drainsIdle } from './fixtures.js';

test('stats() reports pending records and bytes, the oldest age, totals, the last error and the last upload', async ({ page, server }) => {
  await openClient(page, server.url, { ...FAST_RETRY, batchMaxRecords: 50 });
  const fresh = await page.evaluate(() => (window as any).client.stats());
  expect(fresh).toMatchObject({ pending: 0, pendingBytes: 0, oldestPendingAgeMs: null, uploaded: 0, rejected: 0, lastError: null, lastUploadAt: null, paused: false });

  await server.stop();
  await ingestReadings(page, 120);
  await drainsIdle(page);
  await page.waitForTimeout(200);
  const down = await page.evaluate(() => (window as any).client.stats());
  expect(down.pending).toBe(120);
  expect(down.pendingBytes).toBeGreaterThan(120 * 60); // ~80 bytes of BSON each
  expect(down.pendingBytes).toBeLessThan(120 * 200);
  expect(down.oldestPendingAgeMs).toBeGreaterThanOrEqual(200);
  expect(down.lastError.code).toBe('network-error');
  expect(down.uploaded).toBe(0);

  await server.start();
  const progress: number[] = await page.evaluate(async () => {
    const w = window as any;
    const seen: number[] = [];
    w.client.on('uploaded', ({ pending }: { pending: number }) => seen.push(pending));
    await w.client.flush();
    await new Promise((r) => setTimeout(r, 200)); // let the last broadcast land
    return seen;
  });
  // A progress figure per batch: batches of whole outbox entries, 4 of 12 records (a quarter of 50, rounded down).
  expect(progress).toEqual([72, 24, 0]);
  const after = await page.evaluate(() => (window as any).client.stats());
  expect(after).toMatchObject({ pending: 0, pendingBytes: 0, oldestPendingAgeMs: null, uploaded: 120, rejected: 0 });
  expect(new Date(after.lastUploadAt).getTime()).toBeGreaterThan(new Date(down.lastError.at).getTime());
  await expectExactlyOnce(server, 120);
});

test('pause() stops uploads from the service worker until resume(); ingest() keeps queueing', async ({ page, server }) => {
  await openClient(page, server.url);
  await page.evaluate(() => (window as any).client.pause());
  await ingestReadings(page, 80);
  const flushed = await page.evaluate(() => (window as any).client.flush({ timeoutMs: 2_000 }).then(() => 'ok', (e: any) => e.code));
  expect(flushed).toBe('paused');
  await page.waitForTimeout(500);
  expect(await server.count('Reading')).toBe(0);
  expect((await page.evaluate(() => (window as any).client.stats())).paused).toBe(true);

  await page.evaluate(() => (window as any).client.resume());
  await expect.poll(() => server.count('Reading')).toBe(80);
  await expectExactlyOnce(server, 80);
});
