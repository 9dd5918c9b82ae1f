/**
 * encodeBatchBody (the SW's framing of an upload, written by hand) against
 * encodeUpload (bson's serializer) of the same body: the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Binary, BSON } from 'bson';
import { encodeBatchBody, encodeUpload, PROTOCOL_VERSION, type RecordFrame } from '../../core/protocol.js';
import { decodeUpload } from '../../server/decode-upload.js';
import { parseSchema } from '../../core/schema.js';
import { mulberry32 } from '../helpers/random.js';

const viaBson = (client: string, sentAt: Date, records: readonly RecordFrame[]): Buffer =>
  Buffer.from(encodeUpload({ v: PROTOCOL_VERSION, client, sentAt, records: records.map((r) => ({ c: r.c, t: new Date(r.t), d: new Binary(r.d) })) }));

test('the same bytes as bson for random batches (sizes 0 to 1,200, non-ASCII names, negative and far times)', () => {
  const rand = mulberry32(11);
  const names = ['Reading', 'Événement', '日志', 'a'];
  const times = [0, -1, 1_700_000_000_000, 8.64e15, -8.64e15, 2 ** 32, 2 ** 32 - 1];
  for (const n of [0, 1, 2, 9, 10, 11, 99, 100, 101, 500, 1_200]) {
    const records: RecordFrame[] = [];
    for (let i = 0; i < n; i++) {
      const doc = BSON.serialize({ i, s: 'x'.repeat(Math.floor(rand() * 300)) });
      records.push({ c: names[Math.floor(rand() * names.length)]!, t: times[Math.floor(rand() * times.length)]!, d: doc });
    }
    const client = n % 2 ? 'c-8f14e45f-ceea-467f-a8f6-4d5b2a1c0e9d' : 'clïent';
    const sentAt = new Date(1_700_000_000_000 + n);
    assert.deepEqual(Buffer.from(encodeBatchBody(client, sentAt, records)), viaBson(client, sentAt, records), `${n} records`);
  }
});

test('the server decodes what encodeBatchBody writes', () => {
  const schema = parseSchema([{ name: 'Reading', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', n: 'int' } }]);
  const d = BSON.serialize({ n: 1 });
  const decoded = decodeUpload(encodeBatchBody('me', new Date(5), [{ c: 'Reading', t: 7, d }, { c: 'Reading', t: 8, d }]), schema, 10);
  assert.ok(decoded.ok);
  assert.equal(decoded.upload.client, 'me');
  assert.equal(decoded.upload.sentAt.getTime(), 5);
  assert.deepEqual(decoded.upload.records.map((r) => r.t.getTime()), [7, 8]);
  assert.deepEqual(Buffer.from(decoded.upload.records[1]!.d.buffer), Buffer.from(d));
});
