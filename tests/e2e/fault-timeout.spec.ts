/**
 * Fault matrix: the server is slower than the client's timeout. The proxy
 * forwards the upload at once (the server commits and answers within
 * milliseconds) but holds the answer past `retry.requestTimeoutMs`; the
 * service worker gives up, retries, and the server answers `duplicate`.
 */
import { ingestReadings } from './fixtures.js';
import { test, expect, openThroughProxy, expectDeliveredOnce, uploadErrors } from './fault-fixtures.js';

const RECORDS = 2_000;

test('an answer slower than requestTimeoutMs: the client times out, retries, and the server dedupes', async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy, { retry: { requestTimeoutMs: 1_000 } });
  proxy.nextUploads([{ delayResponseMs: 2_500 }, {}, { delayResponseMs: 2_500 }]);
  await ingestReadings(page, RECORDS);

  await expectDeliveredOnce(page, server, RECORDS);
  const log = proxy.uploadLog;
  const slow = log.filter((e) => e.rule.startsWith('delay'));
  expect(slow).toHaveLength(2);
  for (const s of slow) {
    expect(s.verdicts).toEqual({ stored: 500, duplicate: 0, rejected: 0 }); // the server committed …
    expect(s.outcome).toBe('client-gone'); // … but the client hung up before the held answer went out
    const retry = log[s.n + 1]!;
    expect(retry.firstSeq).toBe(s.firstSeq);
    expect(retry.at - s.at).toBeGreaterThanOrEqual(1_000); // not before the 1 s timeout
    expect(retry.at - s.at).toBeLessThan(2_500); // and not after the held answer would have come
    expect(retry.verdicts).toEqual({ stored: 0, duplicate: 500, rejected: 0 });
  }
  expect((await uploadErrors(page)).filter((c) => c === 'timeout')).toHaveLength(2);
});
