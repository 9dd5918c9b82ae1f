// Hostile input against the real app and databases: forged access tokens,
// bodies over the limit (announced or streamed), a gzip bomb, `__proto__` and
// `constructor` keys, `$` operators and dotted keys, documents nested 1,000
// deep and more, batches over the record limit, odd unicode in collection
// names (uploads and admin routes). Never a 5xx; nothing stored that is not
// a valid record.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, it } from 'node:test';
import { BSON, Binary, Double, Long, ObjectId, type Document } from 'bson';
import { SignJWT } from 'jose';
import { encodeUpload } from '../../core/protocol.js';
import { convertDocument, parseSchema, type ObjectSchema } from '../../core/schema.js';
import { assertUnauthorized, unsignedToken } from '../helpers/auth-requests.js';
import {
  adminGet, countRows, encodeTestUpload, forEachSink, loginAnonymously, postBatch, readRows, startTestServer, type TestServer,
} from '../helpers/server-inject.js';

const SCHEMA: ObjectSchema[] = [
  {
    name: 'Doc', asymmetric: true, primaryKey: '_id',
    properties: { _id: 'string', dict: 'double{}', m: 'mixed', md: 'mixed{}', tags: 'string[]', inner: 'Inner?' },
  },
  { name: 'Inner', embedded: true, properties: { x: 'double', d: 'double{}' } },
  { name: 'Mesuré', asymmetric: true, primaryKey: '_id', properties: { _id: 'string' } },
  { name: '测量 💩', asymmetric: true, primaryKey: '_id', properties: { _id: 'string' } },
  { name: 'Reading', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', sensor: 'string', value: 'double' } },
];
const parsed = parseSchema(SCHEMA);

/** BSON of `doc` with every 9-character key `XXXXXXXXX` renamed to `__proto__` (no JS object can be serialized with that key). */
function withProtoKeys(doc: Document): Buffer {
  const bytes = Buffer.from(BSON.serialize(doc));
  const from = Buffer.from('XXXXXXXXX\0');
  for (let i = bytes.indexOf(from); i >= 0; i = bytes.indexOf(from, i + 1)) bytes.write('__proto__', i, 'latin1');
  return bytes;
}

/** An upload of raw document bytes (already BSON), one record per entry. */
function rawUpload(records: { c: string; d: Uint8Array }[]): Buffer {
  return Buffer.from(encodeUpload({ v: 1, client: 'hostile', sentAt: new Date(), records: records.map((r) => ({ c: r.c, t: new Date(), d: new Binary(r.d) })) }));
}

/** A `mixed` value nested `depth` levels below the document (objects, or arrays when `arrays`). */
function nested(depth: number, arrays = false): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { k: v };
  return v;
}

const codes = (res: { json(): { results: { s: string; code?: string }[] } }) => res.json().results.map((r) => r.code ?? r.s);

/** Every stored row re-validated as the server's schema sees it, and its key matches its _id. */
async function assertStoredRowsValid(server: TestServer): Promise<void> {
  for (const row of await readRows(server)) {
    const doc = BSON.deserialize(row.doc, { promoteValues: false });
    convertDocument(parsed, row.collection, doc, 'wire'); // throws if invalid
    assert.ok(row.id.endsWith(String(doc._id)) || row.id.startsWith('o:'), `${row.collection}/${row.id}`);
  }
}

forEachSink('hostile input', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    if (server !== undefined) await assertStoredRowsValid(server);
    await server?.close();
    server = undefined;
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
  });

  it('refuses alg none, HS512, unsigned and re-signed access tokens', async () => {
    server = await startTestServer({ sink, schema: SCHEMA });
    const session = await loginAnonymously(server.app);
    const key = new TextEncoder().encode(server.jwtSecret);
    const [, payload] = session.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const body = rawUpload([{ c: 'Doc', d: BSON.serialize({ _id: 'a', m: 1, md: {} }) }]);
    for (const [what, token] of [
      ['alg none', unsignedToken(claims)],
      ['alg none, header only changed', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`],
      ['signature stripped', session.accessToken.split('.').slice(0, 2).join('.') + '.'],
      ['HS512 with the server key', await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).sign(key)],
      ['another user, forged signature', `${session.accessToken.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, sub: 'victim' })).toString('base64url')}.${session.accessToken.split('.')[2]}`],
      ['a huge token', 'a'.repeat(8000)],
    ] as const) {
      assertUnauthorized(await postBatch(server.app, token, body), what);
    }
    assert.equal(await countRows(server), 0);
  });

  it('answers 413 to a body over the limit, announced or streamed without a length, and stores nothing', async () => {
    server = await startTestServer({ sink, schema: SCHEMA, bodyLimitBytes: 4096 });
    const { accessToken } = await loginAnonymously(server.app);
    const big = rawUpload(Array.from({ length: 40 }, (_, i) => ({ c: 'Doc', d: BSON.serialize({ _id: `big-${i}`, m: 'x'.repeat(100), md: {} }) })));
    assert.ok(big.length > 4096);
    const announced = await postBatch(server.app, accessToken, big);
    assert.equal(announced.statusCode, 413);
    assert.equal(announced.json().error.code, 'body-too-large');

    // Chunked, so the server learns the size only while reading.
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.app.server.address() as AddressInfo;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port, method: 'POST', path: '/api/ingest/batches',
        headers: { 'content-type': 'application/bson', authorization: `Bearer ${accessToken}`, 'transfer-encoding': 'chunked' },
      }, (res) => { res.resume(); resolve(res.statusCode!); });
      req.on('error', reject);
      for (let i = 0; i < big.length; i += 512) req.write(big.subarray(i, i + 512));
      req.end();
    });
    assert.equal(status, 413);
    assert.equal(await countRows(server), 0);
  });

  it('refuses compressed bodies without inflating them: a gzip bomb costs nothing', async () => {
    server = await startTestServer({ sink, schema: SCHEMA });
    const { accessToken } = await loginAnonymously(server.app);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
    assert.ok(bomb.length < 100 * 1024);
    const before = process.memoryUsage().rss;
    for (const encoding of ['gzip', 'deflate', 'br', 'GZIP', 'gzip, identity', 'x-gzip']) {
      const started = Date.now();
      const res = await postBatch(server.app, accessToken, bomb, { 'content-encoding': encoding });
      assert.equal(res.statusCode, 415, encoding);
      assert.equal(res.json().error.code, 'unsupported-media-type');
      assert.ok(Date.now() - started < 5_000, `${encoding}: answered at once`);
    }
    assert.ok(process.memoryUsage().rss - before < 48 * 1024 * 1024, 'the bomb was never inflated');
    assert.equal(await countRows(server), 0);
  });

  it('refuses __proto__ keys anywhere, and stores constructor and prototype keys as plain data', async () => {
    server = await startTestServer({ sink, schema: SCHEMA });
    const { accessToken } = await loginAnonymously(server.app);
    const res = await postBatch(server.app, accessToken, rawUpload([
      { c: 'Doc', d: withProtoKeys({ _id: 'p1', m: 1, md: {}, XXXXXXXXX: { polluted: true } }) },
      { c: 'Doc', d: withProtoKeys({ _id: 'p2', m: 1, md: {}, dict: { XXXXXXXXX: new Double(1.5) } }) },
      { c: 'Doc', d: withProtoKeys({ _id: 'p3', m: { XXXXXXXXX: { polluted: true } }, md: {} }) },
      { c: 'Doc', d: withProtoKeys({ _id: 'p4', m: [[{ a: { XXXXXXXXX: 1 } }]], md: {} }) },
      { c: 'Doc', d: withProtoKeys({ _id: 'p5', m: 1, md: { XXXXXXXXX: { polluted: true } } }) },
      { c: 'Doc', d: withProtoKeys({ _id: 'p6', m: 1, md: {}, inner: { x: new Double(1), d: { XXXXXXXXX: new Double(2) } } }) },
      { c: 'Doc', d: BSON.serialize({ _id: 'ok', m: { constructor: 'c', prototype: { toString: 'x' } }, md: { constructor: 1, hasOwnProperty: 2 }, dict: { constructor: new Double(3) } }) },
    ]));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(codes(res), [...Array(6).fill('invalid-field-name'), 'stored']);
    assert.match(res.json().results[1].message, /__proto__/);
    const [row] = await readRows(server);
    const stored = BSON.deserialize(row!.doc);
    assert.deepEqual(Object.keys(stored.m), ['constructor', 'prototype']);
    assert.deepEqual(stored.md, { constructor: 1, hasOwnProperty: 2 });
    assert.equal(stored.dict.constructor, 3);
  });

  it('refuses $ operators and dotted keys as field names and dictionary keys', async () => {
    server = await startTestServer({ sink, schema: SCHEMA });
    const { accessToken } = await loginAnonymously(server.app);
    const docs: Document[] = [
      { _id: 'd1', m: 1, md: {}, $where: 'sleep(1000)' },
      { _id: 'd2', m: 1, md: { $gt: 1 } },
      { _id: 'd3', m: { $set: { admin: true } }, md: {} },
      { _id: 'd4', m: 1, md: { 'a.b': 1 } },
      { _id: 'd5', m: 1, md: {}, dict: { 'x.y': new Double(1) } },
      { _id: 'd6', m: [{ nested: { $ne: null } }], md: {} },
      { _id: 'ok', m: { 'dollar$inside': 1, 'a-b': 2 }, md: {} },
    ];
    const res = await postBatch(server.app, accessToken, rawUpload(docs.map((d) => ({ c: 'Doc', d: BSON.serialize(d) }))));
    assert.equal(res.statusCode, 200);
    const got = codes(res);
    assert.deepEqual(got, [...Array(6).fill('invalid-field-name'), 'stored']);
    assert.equal(await countRows(server), 1);
  });

  it('stores 100 levels of nesting and refuses 101, 1,000 and 100,000 without a 5xx', async () => {
    server = await startTestServer({ sink, schema: SCHEMA });
    const { accessToken } = await loginAnonymously(server.app);
    // The document is level 1, so m's value may nest 99 more levels.
    const ok = rawUpload([{ c: 'Doc', d: BSON.serialize({ _id: 'deep-ok', m: nested(99), md: {} }) }]);
    assert.deepEqual(codes(await postBatch(server.app, accessToken, ok)), ['stored']);
    for (const [depth, arrays] of [[100, false], [100, true], [1_000, false], [1_000, true]] as const) {
      const res = await postBatch(server.app, accessToken, rawUpload([{ c: 'Doc', d: BSON.serialize({ _id: `deep-${depth}-${arrays}`, m: nested(depth, arrays), md: {} }) }]));
      assert.equal(res.statusCode, 200);
      assert.deepEqual(codes(res), ['nested-too-deep'], `${depth}`);
      assert.match(res.json().results[0].message, /nested/);
    }
    // 100,000 levels of {k: {k: …}}, written directly (bson's own serializer would overflow the stack):
    // each level is int32 length, type 0x03, "k\0", the level inside, and a closing 0x00.
    const levels = 100_000;
    const doc = Buffer.alloc(8 * levels + 5);
    for (let j = levels, at = 0; j >= 1; j--, at += 7) {
      doc.writeInt32LE(5 + 8 * j, at);
      doc.writeUInt8(0x03, at + 4);
      doc.write('k\0', at + 5, 'latin1');
    }
    doc.writeInt32LE(5, 7 * levels); // the innermost {}; the closing zeros are already there
    const hugeDeep = rawUpload([{ c: 'Doc', d: doc }]);
    const res = await postBatch(server.app, accessToken, hugeDeep);
    assert.ok(res.statusCode === 200 || res.statusCode === 400, `${res.statusCode}`);
    // bson's decoder may run out of stack first (malformed-body); else the depth check answers.
    if (res.statusCode === 200) assert.ok(['malformed-body', 'nested-too-deep'].includes(codes(res)[0]!), codes(res)[0]);
    assert.equal(await countRows(server), 1);
  });

  it('refuses a batch over the record limit as a whole', async () => {
    server = await startTestServer({ sink, schema: SCHEMA });
    const { accessToken } = await loginAnonymously(server.app);
    const records = Array.from({ length: 10_001 }, (_, i) => ({ c: 'Doc', d: BSON.serialize({ _id: `r${i}`, m: 1, md: {} }) }));
    const res = await postBatch(server.app, accessToken, rawUpload(records));
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'too-many-records');
    assert.equal(await countRows(server), 0);
  });

  it('matches collection names exactly, odd unicode included, in uploads and admin routes', async () => {
    server = await startTestServer({ sink, schema: SCHEMA });
    const { accessToken } = await loginAnonymously(server.app);
    const good = await postBatch(server.app, accessToken, rawUpload([
      { c: 'Mesuré', d: BSON.serialize({ _id: 'm1' }) },
      { c: '测量 💩', d: BSON.serialize({ _id: 'c1' }) },
    ]));
    assert.deepEqual(codes(good), ['stored', 'stored']);
    for (const name of [
      'Mesure\u0301', // the same word in NFD: another name
      'Reading\u0000', 'Read\u200bing', '\u202eReading', 'ℝeading', 'READING', 'Reading ', '\ud800', '💩',
      'Inner', // embedded, not a collection
      '__proto__', 'constructor', 'toString', 'x'.repeat(100_000),
    ]) {
      const res = await postBatch(server.app, accessToken, rawUpload([{ c: name, d: BSON.serialize({ _id: 'x' }) }]));
      assert.equal(res.statusCode, 400, JSON.stringify(name.slice(0, 20)));
      assert.equal(res.json().error.code, 'unknown-collection');
      assert.ok(res.json().error.message.length < 1_000, 'the message does not echo a huge name');
    }
    assert.deepEqual((await adminGet(server, `/api/admin/collections/${encodeURIComponent('Mesuré')}/count`)).json(), { count: 1 });
    assert.deepEqual((await adminGet(server, `/api/admin/collections/${encodeURIComponent('测量 💩')}/count`)).json(), { count: 1 });
    assert.match((await adminGet(server, `/api/admin/collections/${encodeURIComponent('测量 💩')}/export`)).body, /"c1"/);
    for (const path of [
      'Mesure%CC%81', '%00', 'Reading%00', '%ED%A0%80', '%FF%FE', '%C0%AE%C0%AE', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '__proto__',
      'constructor', 'hasOwnProperty', 'Inner', encodeURIComponent('x'.repeat(10_000)), '%E2%80%AEReading', '%',
    ]) {
      for (const route of ['count', 'export']) {
        const res = await adminGet(server, `/api/admin/collections/${path}/${route}`);
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${path}/${route}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        assert.match(String(res.headers['content-type']), /^application\/json/);
      }
    }
  });
});
