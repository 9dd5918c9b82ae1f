import { BSON, Binary } from 'bson';
import { encodeUpload, PROTOCOL_VERSION } from '../../core/protocol.js';
import { test, expect, openClient, pending } from './fixtures.js';

test('ingest() rejects bad input with a typed error and queues nothing', async ({ page, server }) => {
  await openClient(page, server.url);
  const outcomes = await page.evaluate(async () => {
    const { client, SwIngest } = window as any;
    const at = new Date();
    const attempts: Array<[string, string, unknown]> = [
      ['unknown type', 'Nope', { deviceId: 'd1', seq: 1, temp: 1, at }],
      ['missing field', 'Reading', { deviceId: 'd1', temp: 1, at }],
      ['wrong type', 'Reading', { deviceId: 'd1', seq: 1, temp: 'hot', at }],
      ['one bad of two', 'Reading', [{ deviceId: 'd1', seq: 1, temp: 1, at }, { deviceId: 'd1', seq: 1.5, temp: 1, at }]],
      ['too large', 'Reading', { deviceId: 'x'.repeat(16 * 1024 * 1024), seq: 1, temp: 1, at }],
      ['dotted key', 'Reading', { deviceId: 'd1', seq: 1, temp: 1, at, 'a.b': 1 }],
    ];
    const out: Record<string, unknown> = {};
    for (const [name, type, doc] of attempts) {
      out[name] = await client.ingest(type, doc).then(
        () => 'resolved',
        (e: any) => ({ isIngestError: e instanceof SwIngest.IngestError, code: e.code, path: e.path, message: e.message }),
      );
    }
    return out;
  });
  expect(outcomes['unknown type']).toMatchObject({ isIngestError: true, code: 'unknown-type' });
  expect(outcomes['missing field']).toMatchObject({ isIngestError: true, code: 'missing-field', path: 'Reading.seq' });
  expect(outcomes['wrong type']).toMatchObject({ isIngestError: true, code: 'wrong-type', path: 'Reading.temp' });
  expect(outcomes['one bad of two']).toMatchObject({ isIngestError: true, code: 'not-an-integer', path: 'Reading[1].seq' });
  expect(outcomes['too large']).toMatchObject({ isIngestError: true, code: 'document-too-large', path: 'Reading' });
  expect(outcomes['dotted key']).toMatchObject({ isIngestError: true, code: 'invalid-field-name', path: 'Reading["a.b"]' });
  expect(await pending(page)).toBe(0);
  await page.evaluate(() => (window as any).client.flush());
  expect(await server.count('Reading')).toBe(0);
});

test('the server answers bad uploads with 4xx and a JSON error, and stores nothing', async ({ server }) => {
  const url = `${server.url}/api/ingest/batches`;
  const login = await fetch(`${server.url}/api/ingest/auth/anonymous`, { method: 'POST' });
  const { accessToken } = (await login.json()) as { accessToken: string };
  const headers = { 'Content-Type': 'application/bson', Authorization: `Bearer ${accessToken}` };
  const upload = (records: Array<{ c: string; d: Record<string, unknown> }>) =>
    encodeUpload({
      v: PROTOCOL_VERSION, client: 'test', sentAt: new Date(),
      records: records.map((r) => ({ c: r.c, t: new Date(), d: new Binary(BSON.serialize(r.d)) })),
    });

  const cases: Array<[string, RequestInit, number, string]> = [
    ['missing auth', { body: upload([]), headers: { 'Content-Type': 'application/bson' } }, 401, 'unauthorized'],
    ['malformed BSON', { body: new Uint8Array([7, 0, 0, 0, 99, 1, 2]), headers }, 400, 'malformed-body'],
    ['unknown collection', { body: upload([{ c: 'Nope', d: { _id: 1 } }]), headers }, 400, 'unknown-collection'],
  ];
  for (const [name, init, status, code] of cases) {
    const res = await fetch(url, { method: 'POST', ...init });
    expect(res.status, name).toBe(status);
    expect(res.headers.get('content-type'), name).toContain('application/json');
    expect(((await res.json()) as { error: { code: string } }).error.code, name).toBe(code);
  }
  expect(await server.count('Reading')).toBe(0);
});
