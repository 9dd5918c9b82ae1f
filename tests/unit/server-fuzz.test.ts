// Malformed BSON as a fuzz test: thousands of mutations of real upload
// bodies (bit flips, interesting bytes and int32 length fields, truncations,
// insertions, deletions, duplicated ranges, splices), half of them applied
// to a record's document and re-framed so that they reach the per-record
// validator. Deterministic (seeded). Never a 5xx; every stored row is a
// valid record of the schema, stored under its own key, and the server
// stored exactly as many rows as it answered `stored`.
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { BSON, Binary, Double, Int32, Long, ObjectId, type Document } from 'bson';
import { encodeUpload, type UploadBody } from '../../core/protocol.js';
import { convertDocument, primaryKeyString } from '../../core/schema.js';
import { mulberry32 } from '../helpers/random.js';
import {
  countRows, encodeTestUpload, forEachSink, loginAnonymously, postBatch, readRows, startTestServer, type TestServer,
} from '../helpers/server-inject.js';

/** How many mutated bodies per sink (override with SW_INGEST_FUZZ_CASES). */
const CASES = Number(process.env.SW_INGEST_FUZZ_CASES ?? 3000);
const SEED = 0x5eed1e55;

const prng = mulberry32;

/** Real documents of the test schema, varied in shape. */
function corpusDocs(random: () => number, n: number): { c: string; doc: Document }[] {
  return Array.from({ length: n }, (_, i) => {
    if (i % 3 === 2) return { c: 'Event', doc: { _id: `e-${i}-${Math.floor(random() * 1e9)}`, kind: 'click'.repeat(1 + (i % 4)) } };
    const doc: Document = { _id: new ObjectId(), sensor: `s${i}`, value: new Double(random() * 100) };
    if (i % 2 === 0) doc.count = Long.fromNumber(i * 1000);
    if (i % 4 === 0) doc.at = new Date(1_700_000_000_000 + i);
    if (i % 5 === 0) doc.point = { x: new Double(1.5), y: new Double(-2) };
    if (i % 7 === 0) doc.count = new Int32(i);
    return { c: 'Reading', doc };
  });
}

const INTERESTING_INT32 = [0, 1, -1, 4, 5, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 16 * 1024 * 1024 + 1];

/** One random mutation of `bytes` (never the input array itself). */
function mutate(bytes: Uint8Array, random: () => number, other: Uint8Array): Buffer {
  const b = Buffer.from(bytes);
  const at = () => Math.floor(random() * Math.max(1, b.length));
  switch (Math.floor(random() * 9)) {
    case 0: { // flip 1 to 8 bits
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips; i++) b[at()]! ^= 1 << Math.floor(random() * 8);
      return b;
    }
    case 1: { // an interesting byte
      b[at()] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x12, 0x13][Math.floor(random() * 12)]!;
      return b;
    }
    case 2: { // an interesting int32 (a length field, often), or a length off by a little
      if (b.length < 4) return b;
      const i = Math.min(at(), b.length - 4);
      const v = random() < 0.5 ? INTERESTING_INT32[Math.floor(random() * INTERESTING_INT32.length)]! : b.readInt32LE(i) + Math.floor(random() * 9) - 4;
      b.writeInt32LE(v | 0, i);
      return b;
    }
    case 3: { // the document's own length field
      if (b.length < 4) return b;
      b.writeInt32LE((b.readInt32LE(0) + [-2, -1, 1, 2, 1000, -1000][Math.floor(random() * 6)]!) | 0, 0);
      return b;
    }
    case 4: // truncate
      return b.subarray(0, at());
    case 5: { // insert random bytes
      const i = at();
      const extra = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 16) }, () => Math.floor(random() * 256)));
      return Buffer.concat([b.subarray(0, i), extra, b.subarray(i)]);
    }
    case 6: { // delete a range
      const i = at();
      return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + Math.floor(random() * 16))]);
    }
    case 7: { // duplicate a range
      const i = at();
      const j = Math.min(b.length, i + 1 + Math.floor(random() * 32));
      return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]);
    }
    default: { // splice with another body
      const i = at();
      const j = Math.floor(random() * other.length);
      return Buffer.concat([b.subarray(0, i), Buffer.from(other.subarray(j))]);
    }
  }
}

forEachSink('fuzzing the upload route with mutated BSON', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it(`${CASES} mutated bodies: never a 5xx, nothing stored that is not a valid record`, { timeout: 600_000 }, async () => {
    server = await startTestServer({ sink, rateLimits: false });
    const { accessToken } = await loginAnonymously(server.app);
    const random = prng(SEED);
    const bodies = [1, 3, 10, 25].map((n) => encodeTestUpload(corpusDocs(random, n)));
    const docs = corpusDocs(random, 60).map((r) => ({ c: r.c, bytes: BSON.serialize(r.doc) }));

    const statuses = new Map<number, number>();
    const resultCodes = new Map<string, number>();
    let storedAnswers = 0;
    for (let n = 0; n < CASES; n++) {
      let body: Buffer;
      if (random() < 0.5) {
        body = mutate(bodies[Math.floor(random() * bodies.length)]!, random, bodies[Math.floor(random() * bodies.length)]!);
      } else {
        // Mutate one to three documents inside a well-framed upload, so the per-record path sees them.
        const picked = Array.from({ length: 1 + Math.floor(random() * 3) }, () => docs[Math.floor(random() * docs.length)]!);
        const records = picked.map((d) => ({
          c: d.c, t: new Date(),
          d: new Binary(random() < 0.85 ? mutate(d.bytes, random, docs[Math.floor(random() * docs.length)]!.bytes) : d.bytes),
        }));
        body = Buffer.from(encodeUpload({ v: 1, client: `fuzz-${n % 7}`, sentAt: new Date(), records } as UploadBody));
      }
      const res = await postBatch(server.app, accessToken, body);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assert.ok(res.statusCode < 500, `case ${n}: ${res.statusCode} ${res.body}`);
      assert.ok([200, 400, 413].includes(res.statusCode), `case ${n}: ${res.statusCode} ${res.body}`);
      const reply = JSON.parse(res.body) as { results?: { s: string; code?: string; message?: string }[]; error?: { code: string } };
      if (res.statusCode === 200) {
        for (const r of reply.results!) {
          assert.ok(['stored', 'duplicate', 'rejected'].includes(r.s), `case ${n}: ${res.body}`);
          if (r.s === 'stored') storedAnswers++;
          const key = r.code ?? r.s;
          resultCodes.set(key, (resultCodes.get(key) ?? 0) + 1);
        }
      } else {
        assert.equal(typeof reply.error!.code, 'string');
        resultCodes.set(`${res.statusCode} ${reply.error!.code}`, (resultCodes.get(`${res.statusCode} ${reply.error!.code}`) ?? 0) + 1);
      }
    }

    // What reached the database: as many rows as answered stored, each valid, under its own key, in the server's encoding.
    const rows = await readRows(server);
    assert.equal(rows.length, storedAnswers);
    assert.equal(await countRows(server), storedAnswers);
    for (const row of rows) {
      const doc = BSON.deserialize(row.doc, { promoteValues: false });
      const converted = convertDocument(server.schema, row.collection, doc, 'wire');
      assert.equal(primaryKeyString(converted._id), row.id);
      assert.deepEqual(Buffer.from(BSON.serialize(converted)), Buffer.from(row.doc), 'stored bytes are the server\'s own encoding');
    }
    // The mutations did reach every layer.
    assert.ok((resultCodes.get('400 malformed-body') ?? 0) > CASES / 10, JSON.stringify([...resultCodes]));
    assert.ok((resultCodes.get('malformed-body') ?? 0) > CASES / 20, JSON.stringify([...resultCodes]));
    assert.ok(storedAnswers > 0, 'some mutations stay valid records');
    // And the server still works.
    const after = await postBatch(server.app, accessToken, encodeTestUpload([{ c: 'Event', doc: { _id: 'after-fuzz', kind: 'ok' } }]));
    assert.deepEqual(after.json(), { v: 1, results: [{ s: 'stored' }] });
    console.log(`fuzz (${sink}): ${CASES} bodies; statuses ${JSON.stringify([...statuses])}; outcomes ${JSON.stringify([...resultCodes].sort((a, b) => b[1] - a[1]))}`);
  });
});
