/**
 * A mistake in the set-up must not look like success. An endpoint that is
 * not the sw-ingest API (a missing prefix, the site's HTML fallback, a page
 * where a confirmation should be) keeps every record queued: `flush()`
 * rejects with `endpoint-not-found` naming the URL, `stats().lastError`
 * says so, the page warns once on the console, and nothing is
 * dead-lettered. Fixing the endpoint delivers every record exactly once.
 */
import type { Page } from '@playwright/test';
import { HtmlFallbackHost } from '../helpers/html-fallback-host.js';
import { FAST_RETRY, expectExactlyOnce, ingestReadings, openClient, pending } from './fixtures.js';
import { test, expect, openThroughProxy, expectDeliveredOnce, uploadErrors, rejectedCount, gate } from './fault-fixtures.js';

/** Console warnings of sw-ingest that say the endpoint is wrong. */
function endpointWarnings(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'warning' && m.text().includes('is not an sw-ingest API')) seen.push(m.text());
  });
  return seen;
}

/** `flush()`'s rejection as plain data, or its result. */
function flushOutcome(page: Page): Promise<{ code?: string; message?: string; uploaded?: number; rejected?: number }> {
  return page.evaluate(() => (window as any).client.flush({ timeoutMs: 20_000 }).then(
    (r: { uploaded: number; rejected: number }) => r,
    (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
  ));
}

test('an endpoint without the API routes keeps every record queued and flush() rejects with endpoint-not-found; fixed, 50 stored once', async ({ page, server }) => {
  const warnings = endpointWarnings(page);
  await openClient(page, server.url, { endpoint: '/api', ...FAST_RETRY }); // the API is at /api/ingest
  await ingestReadings(page, 50);

  const outcome = await flushOutcome(page);
  expect(outcome.code).toBe('endpoint-not-found');
  expect(outcome.message).toContain(`${server.url}/api/auth/anonymous`);
  expect(outcome.message).toContain('HTTP 404');
  expect(await pending(page)).toBe(50);
  expect(await rejectedCount(page)).toBe(0);
  const lastError = await page.evaluate(async () => (await (window as any).client.stats()).lastError);
  expect(lastError).toMatchObject({ code: 'endpoint-not-found' });
  expect(lastError.message).toContain('/api/auth/anonymous');
  expect(warnings).toHaveLength(1);
  expect(await server.count('Reading')).toBe(0);

  // The same outbox, opened with the right endpoint, delivers what was kept.
  const delivered = await page.evaluate(async () => {
    const w = window as any;
    w.client = await w.SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema });
    return w.client.flush();
  });
  expect(delivered).toEqual({ uploaded: 50, rejected: 0 });
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, 50);
});

test('a site whose HTML fallback answers where the API should be: endpoint-not-found, 30 records kept, 0 dead letters', async ({ page }) => {
  const host = await new HtmlFallbackHost().start();
  try {
    const warnings = endpointWarnings(page);
    await openClient(page, host.url, FAST_RETRY);
    await ingestReadings(page, 30);

    const outcome = await flushOutcome(page);
    expect(outcome.code).toBe('endpoint-not-found');
    expect(outcome.message).toContain(`${host.url}/api/ingest/auth/anonymous`);
    expect(outcome.message).toContain('not an sw-ingest session');
    expect(await pending(page)).toBe(30);
    expect(await rejectedCount(page)).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(host.fallbacks.filter((r) => r === 'POST /api/ingest/auth/anonymous').length).toBeGreaterThanOrEqual(2); // open() and the worker
    expect(host.fallbacks.some((r) => r.endsWith('/batches'))).toBe(false); // no session, so no upload went out
  } finally {
    await host.close();
  }
});

test('an HTML page in place of a confirmation keeps the batch queued as endpoint-not-found; re-sent, 500 stored once', async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy);
  proxy.nextUploads([{ respond: { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: '<!doctype html><title>Welcome</title>' } }]);
  await ingestReadings(page, 500);
  await expectDeliveredOnce(page, server, 500);
  expect(proxy.uploadLog[0]).toMatchObject({ outcome: 'responded', answeredStatus: 200 });
  expect(proxy.uploadLog[1]).toMatchObject({ firstSeq: 0, records: 500, verdicts: { stored: 500, duplicate: 0, rejected: 0 } });
  expect(await uploadErrors(page)).toEqual(['endpoint-not-found']);
});

test("another server's 400 without the API's error body dead-letters nothing: 200 records kept, then stored once", async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy);
  const retry = gate();
  proxy.nextUploads([{ respond: { status: 400, headers: { 'Content-Type': 'text/plain' }, body: 'Bad Request' } }, { holdRequest: retry.opened }]);
  await ingestReadings(page, 200);
  await proxy.waitForUploads(1);
  await expect.poll(() => uploadErrors(page)).toEqual(['endpoint-not-found']);
  expect(await rejectedCount(page)).toBe(0);
  expect(await pending(page)).toBe(200);
  // The drain stopped; a later wake-up (the Background Sync, or this flush()) tries again.
  const flushed = flushOutcome(page);
  await proxy.waitForUploads(2);
  retry.open();
  expect(await flushed).toEqual({ uploaded: 200, rejected: 0 });
  await expectDeliveredOnce(page, server, 200);
});
