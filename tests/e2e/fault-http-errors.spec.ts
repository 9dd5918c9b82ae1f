/**
 * Fault matrix: the server answers 500, 502, 503, or asks to wait (429 or
 * 503 with `Retry-After`). The proxy answers the upload itself with a canned
 * response (the server's JSON error shape) and never forwards it, so the
 * server has seen nothing of it. Plain 5xx back off (quickly here); a
 * `Retry-After` wait is honoured to the second, and measured at the proxy.
 */
import { ingestReadings } from './fixtures.js';
import { test, expect, openThroughProxy, expectDeliveredOnce, uploadErrors } from './fault-fixtures.js';

test('500, 502 and 503 answers are retried with backoff; nothing is lost or doubled', async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy);
  proxy.nextUploads([{ respond: { status: 500 } }, { respond: { status: 502 } }, { respond: { status: 503 } }, {}, { respond: { status: 500 } }]);
  await ingestReadings(page, 2_000);

  await expectDeliveredOnce(page, server, 2_000);
  const log = proxy.uploadLog;
  expect(log.slice(0, 3).map((e) => [e.outcome, e.answeredStatus, e.firstSeq])).toEqual([
    ['responded', 500, 0], ['responded', 502, 0], ['responded', 503, 0],
  ]);
  expect(log[3]!.verdicts).toEqual({ stored: 500, duplicate: 0, rejected: 0 }); // the refused attempts never reached the server
  expect(log[4]).toMatchObject({ outcome: 'responded', answeredStatus: 500, firstSeq: 500 });
  expect(log[5]).toMatchObject({ firstSeq: 500, verdicts: { stored: 500, duplicate: 0, rejected: 0 } });
  expect(log.every((e) => (e.verdicts?.duplicate ?? 0) === 0)).toBe(true);
  expect((await uploadErrors(page)).filter((c) => c === 'server-error')).toHaveLength(4);
});

for (const status of [429, 503]) {
  test(`${status} with Retry-After: 2 — the next upload waits at least 2 s, even when poked`, async ({ page, server, faults: proxy }) => {
    await openThroughProxy(page, proxy);
    proxy.nextUploads([{ respond: { status, headers: { 'Retry-After': '2' }, body: { error: { code: 'internal', message: 'busy, come back later' } } } }]);
    await ingestReadings(page, 1_000);
    await proxy.waitForUploads(1);

    // Poke the worker during the wait: more records (a sync event) and a flush().
    // Neither may cut a wait the server asked for short.
    await page.waitForTimeout(300);
    await ingestReadings(page, 10, 1_000);
    const flushed = page.evaluate(() => (window as any).client.flush({ timeoutMs: 20_000 }));

    await expectDeliveredOnce(page, server, 1_010);
    await flushed;
    const [refused, next] = proxy.uploadLog;
    expect(refused).toMatchObject({ outcome: 'responded', answeredStatus: status, firstSeq: 0 });
    const waited = next!.at - refused!.answeredAt!;
    expect(waited).toBeGreaterThanOrEqual(2_000);
    expect(waited).toBeLessThan(3_500); // as asked, not a backoff of its own on top
    expect(next!.firstSeq).toBe(0);
    expect(next!.verdicts).toEqual({ stored: 500, duplicate: 0, rejected: 0 });
    expect(await uploadErrors(page)).toEqual(['rate-limited']);
  });
}

// A server that keeps answering `429` with `Retry-After: 0` (or an HTTP date
// in the past) must not be retried in a tight loop: `Retry-After` is a floor
// under the backoff, not a replacement for it (sw/drain.ts, since 7e13cb4).
// Before that, 20 refusals arrived within ~0.8 s here, and a 150 s sync
// budget would have sent thousands of requests.
test('429 with Retry-After: 0 again and again is not retried in a tight loop', async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy);
  proxy.nextUploads(Array.from({ length: 20 }, () => ({ respond: { status: 429, headers: { 'Retry-After': '0' } } })));
  await ingestReadings(page, 100);

  await expectDeliveredOnce(page, server, 100);
  const log = proxy.uploadLog;
  expect(log.slice(0, 20).every((e) => e.answeredStatus === 429)).toBe(true);
  // With backoff (base 100 ms, max 500 ms, full jitter) 20 attempts take ~4.5 s on average; below 2 s means no backoff.
  expect(log[20]!.at - log[0]!.at).toBeGreaterThanOrEqual(2_000);
});

// 413 from a server (or a proxy) with a smaller body limit: the batch is
// halved until it passes. Batches are made of whole outbox entries (a
// quarter of a batch each, docs/architecture.md), so the last halving splits
// an entry into one entry per record; the order of the records is kept.
test('413 answers halve the batch, down to splitting an outbox entry; nothing lost, doubled or reordered', async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy);
  proxy.nextUploads([{ respond: { status: 413 } }, { respond: { status: 413 } }, { respond: { status: 413 } }, { respond: { status: 413 } }]);
  await ingestReadings(page, 500);

  await expectDeliveredOnce(page, server, 500);
  const log = proxy.uploadLog;
  // 500 records (4 entries of 125) → 250 (2 entries) → 125 (1 entry) → the entry is split → 62 single records → 31.
  expect(log.slice(0, 4).map((e) => [e.answeredStatus, e.records, e.firstSeq])).toEqual([[413, 500, 0], [413, 250, 0], [413, 125, 0], [413, 62, 0]]);
  expect(log[4]).toMatchObject({ records: 31, firstSeq: 0, verdicts: { stored: 31, duplicate: 0, rejected: 0 } });
  const delivered = log.filter((e) => e.verdicts).map((e) => [e.firstSeq, e.lastSeq]);
  for (let i = 1; i < delivered.length; i++) expect(delivered[i]![0]).toBe(delivered[i - 1]![1]! + 1); // in order, no gaps
  expect((await uploadErrors(page)).filter((c) => c === 'rejected-by-server')).toHaveLength(4);
});
