/**
 * Fault matrix: a malformed or partial confirmation. The proxy forwards the
 * upload (the server commits), then replaces the server's JSON reply. The
 * client must delete only what the reply proves stored and keep the rest
 * queued; the retry is held at the proxy so the test can count the outbox
 * in between. In the end the server answers the retry `duplicate` and every
 * record is stored exactly once.
 */
import { ingestReadings, pending } from './fixtures.js';
import { test, expect, openThroughProxy, expectDeliveredOnce, uploadErrors, rejectedCount, gate } from './fault-fixtures.js';

type Reply = { v: number; results: unknown[] };

// The error each one is reported as: a reply of another protocol version is
// not the API's answer (endpoint-not-found); the rest are broken confirmations.
const wholeBatchUnconfirmed: Array<[string, (reply: unknown) => unknown, string]> = [
  ['non-JSON garbage', () => '<html><body>502 Bad Gateway</body></html>', 'bad-response'],
  ['truncated JSON', () => '{"v":1,"results":[{"s":"stored"},{"s":"sto', 'bad-response'],
  ['fewer results than records', (reply) => ({ ...(reply as Reply), results: (reply as Reply).results.slice(0, -1) }), 'bad-response'],
  ['more results than records', (reply) => ({ ...(reply as Reply), results: [...(reply as Reply).results, { s: 'stored' }] }), 'bad-response'],
  ['a protocol version the client does not speak', (reply) => ({ ...(reply as Reply), v: 2 }), 'endpoint-not-found'],
];

for (const [what, rewriteReply, reportedAs] of wholeBatchUnconfirmed) {
  test(`a reply with ${what} confirms nothing: the batch stays queued, is re-sent, answered duplicate, stored once`, async ({ page, server, faults: proxy }) => {
    await openThroughProxy(page, proxy);
    const retry = gate();
    proxy.nextUploads([{ rewriteReply }, { holdRequest: retry.opened }]);
    await ingestReadings(page, 1_000);

    await proxy.waitForUploads(2); // the doctored reply was settled, the retry is waiting at the proxy
    expect(proxy.uploadLog[0]).toMatchObject({ outcome: 'rewritten', verdicts: { stored: 500, duplicate: 0, rejected: 0 } });
    expect(await pending(page)).toBe(1_000); // the server stored 500, but nothing proved it: nothing left the outbox
    expect(await rejectedCount(page)).toBe(0);
    retry.open();

    await expectDeliveredOnce(page, server, 1_000);
    expect(proxy.uploadLog[1]).toMatchObject({ firstSeq: 0, records: 500, verdicts: { stored: 0, duplicate: 500, rejected: 0 } });
    expect(await uploadErrors(page)).toEqual([reportedAs]);
  });
}

test('a reply with the right count and some malformed entries: only the proven records leave the outbox', async ({ page, server, faults: proxy }) => {
  await openThroughProxy(page, proxy);
  const malformed: Record<number, unknown> = {
    0: { s: 'maybe' },
    17: null,
    250: { s: 'rejected' }, // a rejection without code and message proves nothing either
    251: 'stored',
    499: {},
  };
  const retry = gate();
  proxy.nextUploads([
    {
      rewriteReply: (reply) => {
        const r = reply as Reply;
        return { ...r, results: r.results.map((verdict, i) => (i in malformed ? malformed[i] : verdict)) };
      },
    },
    { holdRequest: retry.opened },
  ]);
  await ingestReadings(page, 500); // one batch

  await proxy.waitForUploads(2);
  expect(proxy.uploadLog[0]).toMatchObject({ outcome: 'rewritten', verdicts: { stored: 500, duplicate: 0, rejected: 0 } });
  expect(await pending(page)).toBe(5); // exactly the records whose entries were malformed
  expect(await rejectedCount(page)).toBe(0); // and none of them dead-lettered
  retry.open();

  await expectDeliveredOnce(page, server, 500);
  // The retry carried exactly those five (seq 0, 17, 250, 251, 499); the server already had them.
  expect(proxy.uploadLog[1]).toMatchObject({ records: 5, firstSeq: 0, lastSeq: 499, verdicts: { stored: 0, duplicate: 5, rejected: 0 } });
  expect(proxy.uploadLog).toHaveLength(2);
  expect(await uploadErrors(page)).toEqual(['bad-response']);
});
