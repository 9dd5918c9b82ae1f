/**
 * Fault matrix: the network drops mid-upload. The proxy cuts the TCP
 * connection after N bytes of an upload request (the server gets a truncated
 * body and stores nothing) or after N bytes of the server's response (the
 * server has committed; the client gets half an answer).
 */
import { ingestReadings } from './fixtures.js';
import { test, expect, openThroughProxy, expectDeliveredOnce, uploadErrors } from './fault-fixtures.js';

const RECORDS = 2_000; // 4 batches of 500, ~55 KB each: a cut at a few KB lands mid-body

test('a connection cut mid-request: nothing of it is stored, the batch is re-sent and stored once', async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy);
  proxy.nextUploads([{ cutRequestAfterBytes: 3_000 }, {}, { cutRequestAfterBytes: 30_000 }]);
  await ingestReadings(page, RECORDS);

  await expectDeliveredOnce(page, server, RECORDS);
  const log = proxy.uploadLog;
  const cuts = log.filter((e) => e.outcome === 'request-cut');
  expect(cuts).toHaveLength(2);
  for (const cut of cuts) {
    const limit = cut.rule.includes('3000') ? 3_000 : 30_000;
    expect(cut.headBytes).toBeLessThan(limit); // the cut is inside the body …
    expect(cut.headBytes + cut.bodyBytes!).toBeGreaterThan(limit); // … not after it
    expect(cut.verdicts).toBeUndefined(); // the server stored nothing of it (it answered the truncated body with an error, or not at all)
    if (cut.status !== undefined) expect(cut.status).toBeGreaterThanOrEqual(400);
    // The next upload re-sends the same batch, and the server had stored none of it.
    const next = log[cut.n + 1]!;
    expect(next.records).toBe(500);
    expect(next.verdicts).toEqual({ stored: 500, duplicate: 0, rejected: 0 });
  }
  const stored = log.reduce((sum, e) => sum + (e.verdicts?.stored ?? 0), 0);
  expect(stored).toBe(RECORDS); // every record was written by exactly one request
});

test('a connection cut mid-response after the commit: the re-sent batch is answered duplicate, stored once', async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy);
  proxy.nextUploads([{ cutResponseAfterBytes: 1_000 }, {}, {}, { cutResponseAfterBytes: 1_000 }]);
  await ingestReadings(page, RECORDS);

  await expectDeliveredOnce(page, server, RECORDS);
  const log = proxy.uploadLog;
  const cuts = log.filter((e) => e.outcome === 'response-cut');
  expect(cuts).toHaveLength(2);
  for (const cut of cuts) {
    expect(cut.status).toBe(200); // the server committed and answered in full …
    expect(cut.verdicts!.stored + cut.verdicts!.duplicate).toBe(500);
    expect(cut.responseHeadBytes!).toBeLessThan(1_000); // … and the client got the head and part of the body
    expect(cut.responseBytes!).toBeGreaterThan(1_000);
    const resend = log.slice(cut.n + 1).find((e) => e.firstSeq === cut.firstSeq)!;
    expect(resend.verdicts).toEqual({ stored: 0, duplicate: 500, rejected: 0 });
  }
  expect(await uploadErrors(page)).toContain('bad-response'); // a truncated body is no confirmation
});
