// SQLite and PostgreSQL keep the same bytes: for the same uploads, both
// export the same lines in the same order — every BSON type, and string keys
// that a locale-aware collation would sort differently.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Binary, Decimal128, Double, Int32, Long, ObjectId, UUID } from 'bson';
import type { ObjectSchema } from '../../core/schema.js';
import { postgresUrlOrSkip, POSTGRES_SKIP_REASON, withClient } from '../helpers/postgres.js';
import {
  adminGet, encodeTestUpload, loginAnonymously, postBatch, SINKS, startTestServer, type TestRecord, type TestServer,
} from '../helpers/server-inject.js';

const SCHEMA: ObjectSchema[] = [
  {
    name: 'Everything', asymmetric: true, primaryKey: '_id',
    properties: {
      _id: 'uuid', oid: 'objectId', s: 'string', n: 'int', d: 'double', f: 'float', b: 'bool', at: 'date',
      dec: 'decimal128', bin: 'data', m: 'mixed', ml: 'mixed[]', opt: 'string?', ints: 'int[]', dict: 'double{}',
      where: 'Point', pts: 'Point[]',
    },
  },
  { name: 'Key', asymmetric: true, primaryKey: '_id', properties: { _id: 'string' } },
  { name: 'IntKey', asymmetric: true, primaryKey: '_id', properties: { _id: 'int' } },
  { name: 'Point', embedded: true, properties: { x: 'double', y: 'double', label: 'string?' } },
];

/** Keys whose byte order (UTF-8) differs from any natural-language order. */
const KEYS = ['b', 'B', 'a', 'A', '_', 'Z', 'é', 'e', 'ab', 'a b', 'a-b', '😀', '𝄞', '\u00a0', '~', '0', '10', '9', 'ä', 'ß', 'ss', ''];

const everything = (i: number): TestRecord => ({
  c: 'Everything',
  t: new Date(Date.UTC(2024, 0, 1) + i),
  doc: {
    _id: new UUID(), oid: new ObjectId(), s: `astral 𝄞 ${i} ünï`, n: Long.fromBigInt(2n ** 53n + BigInt(i)),
    d: new Double(0.1 * i), f: new Double(-0), b: i % 2 === 0, at: new Date(-86_400_001 * i),
    dec: Decimal128.fromString('1234567890123456789012345678901234'), bin: new Binary(new Uint8Array([0, 255, i])),
    m: i % 2 === 0 ? new Int32(i) : 'text', ml: [Long.fromNumber(1), 'a', null, new Date(0), new Double(NaN)], opt: null,
    ints: [Long.fromNumber(-1), Long.fromBigInt(-(2n ** 63n))], dict: { 'key with spaces': new Double(Infinity), '': new Double(1e-300) },
    where: { x: new Double(1), y: new Double(-2), label: 'é' }, pts: [{ x: new Double(0), y: new Double(0) }],
  },
});

const skip = postgresUrlOrSkip() === undefined ? POSTGRES_SKIP_REASON : false;

describe('the same export from both sinks', { skip }, () => {
  const servers: Partial<Record<(typeof SINKS)[number], TestServer>> = {};
  before(async () => {
    const records: TestRecord[] = [
      ...Array.from({ length: 20 }, (_, i) => everything(i)),
      ...[...KEYS].reverse().map((k) => ({ c: 'Key', doc: { _id: k } })),
      ...[10, 9, -1, 100, 2, Number.MAX_SAFE_INTEGER].map((n) => ({ c: 'IntKey', doc: { _id: Long.fromNumber(n) } })),
    ];
    const body = encodeTestUpload(records, { client: 'same-export', sentAt: new Date(Date.UTC(2024, 0, 2)) });
    for (const sink of SINKS) {
      const server = await startTestServer({ sink, schema: SCHEMA });
      servers[sink] = server;
      const res = await postBatch(server.app, (await loginAnonymously(server.app)).accessToken, body);
      assert.ok((res.json().results as { s: string }[]).every((r) => r.s === 'stored'), res.body);
    }
  });
  after(async () => {
    for (const server of Object.values(servers)) await server.close();
  });

  for (const format of ['canonical', 'relaxed'] as const) {
    it(`exports byte-identical ${format} Extended JSON for every collection`, async () => {
      for (const name of ['Everything', 'Key', 'IntKey']) {
        const [sqlite, postgres] = await Promise.all(SINKS.map((sink) => adminGet(servers[sink]!, `/api/admin/collections/${name}/export?format=${format}`)));
        assert.equal(sqlite!.statusCode, 200);
        assert.ok(sqlite!.body.length > 0);
        assert.equal(postgres!.body, sqlite!.body, name);
      }
    });
  }

  it('orders string keys byte by byte in UTF-8, not by a locale', async () => {
    const res = await adminGet(servers.postgres!, '/api/admin/collections/Key/export');
    const exported = res.body.trimEnd().split('\n').map((l) => (JSON.parse(l) as { _id: string })._id);
    const byteOrder = [...KEYS].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(exported, byteOrder);
    // Also in a database whose default collation is not "C": the key columns carry their own.
    const collations = await withClient(servers.postgres!.db, async (c) => (await c.query(
      `SELECT column_name, collation_name FROM information_schema.columns
       WHERE table_schema = 'sw_ingest' AND table_name = 'records' AND column_name IN ('collection', 'id') ORDER BY column_name`,
    )).rows);
    assert.deepEqual(collations, [{ column_name: 'collection', collation_name: 'C' }, { column_name: 'id', collation_name: 'C' }]);
  });

  it('keeps the same metadata, apart from the server receive time', async () => {
    const [sqlite, postgres] = await Promise.all(SINKS.map((sink) => adminGet(servers[sink]!, '/api/admin/collections/Everything/export?meta=true&format=canonical')));
    const strip = (body: string) => body.trimEnd().split('\n').map((l) => {
      const { meta, doc } = JSON.parse(l);
      return { doc, meta: { ...meta, owner: typeof meta.owner, receivedAt: undefined, clockSkewMs: undefined } };
    });
    assert.deepEqual(strip(postgres!.body), strip(sqlite!.body));
    assert.deepEqual(strip(sqlite!.body)[0]!.meta.sentAt, { $date: { $numberLong: String(Date.UTC(2024, 0, 2)) } });
  });
});
