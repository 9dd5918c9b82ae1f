import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Binary, Decimal128, Double, EJSON, Long, ObjectId, UUID } from 'bson';
import { ADMIN_KEY, ROOT, TestServer } from '../helpers/server.js';
import { test, expect } from './fixtures.js';

const SCHEMA_FILE = join(ROOT, 'tests/fixtures/everything-schema.json');
const UUID_ID = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const UUID_U = '00000000-0000-4000-8000-000000000000';
const OID = '65a1b2c3d4e5f60718293a4b';
const DEC = '1234567890123456789012345678901234'; // 34 significant digits
const ASTRAL = '𝄞 😀 𠜎 — ünïcödé';

/** What the server must hold, built here with the bson package independently of the page. */
const expected = {
  _id: new UUID(UUID_ID),
  oid: new ObjectId(OID),
  s: 'plain', empty: '', astral: ASTRAL,
  n: Long.fromNumber(1), big: Long.fromBigInt(2n ** 53n + 1n), neg: Long.fromBigInt(-(2n ** 63n)),
  d: new Double(0.1), f: new Double(1.5), b: false,
  old: new Date('1950-06-15T08:30:00.001Z'), ms: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)),
  dec: Decimal128.fromString(DEC),
  bin: new Binary(new Uint8Array([0, 255, 1, 128])),
  u: new UUID(UUID_U),
  where: { x: new Double(1), y: new Double(-2), label: 'é' },
  pts: [{ x: new Double(0), y: new Double(0) }, { x: new Double(1e-300), y: new Double(1e300), label: null }],
  dict: { 'key with spaces': new Double(1.5), 'neg zero': new Double(-0), inf: new Double(Infinity), nan: new Double(NaN) },
  m1: 'text', m2: Long.fromNumber(42), m3: Decimal128.fromString('-0.000001'), m4: { nested: [new Double(1.5), true, null] },
  m5: new Date(-1),
  mlist: [Long.fromNumber(1), 'a', null, new Date(0), new ObjectId(OID)],
  optS: null,
  ints: [Long.fromNumber(0), Long.fromNumber(-1)],
  optList: ['a', null],
};

test('every type survives ingest, upload, storage and canonical export unchanged', async ({ page }) => {
  const server = await new TestServer({ schemaFile: SCHEMA_FILE }).start();
  try {
    await page.goto(`${server.url}/`);
    await page.evaluate(async ({ schema, ids }) => {
      const { SwIngest } = window as any;
      const { BSON } = SwIngest;
      const client = await SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema });
      await client.ingest('Everything', {
        _id: new BSON.UUID(ids.UUID_ID),
        oid: new BSON.ObjectId(ids.OID),
        s: 'plain', empty: '', astral: ids.ASTRAL,
        n: 1, big: 2n ** 53n + 1n, neg: -(2n ** 63n),
        d: 0.1, f: 1.5, b: false,
        old: new Date('1950-06-15T08:30:00.001Z'), ms: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)),
        dec: BSON.Decimal128.fromString(ids.DEC),
        bin: new Uint8Array([0, 255, 1, 128]),
        u: new BSON.UUID(ids.UUID_U),
        where: { x: 1, y: -2, label: 'é' },
        pts: [{ x: 0, y: 0 }, { x: 1e-300, y: 1e300, label: null }],
        dict: { 'key with spaces': 1.5, 'neg zero': -0, inf: Infinity, nan: NaN },
        m1: 'text', m2: 42n, m3: BSON.Decimal128.fromString('-0.000001'), m4: { nested: [1.5, true, null] },
        m5: new Date(-1),
        mlist: [1n, 'a', null, new Date(0), new BSON.ObjectId(ids.OID)],
        optS: null, optN: undefined,
        ints: [0, -1],
        optList: ['a', null],
      });
      await client.flush();
    }, { schema: JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')), ids: { UUID_ID, UUID_U, OID, DEC, ASTRAL } });

    const res = await fetch(`${server.url}/api/admin/collections/Everything/export?format=canonical`, {
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    });
    const lines = (await res.text()).split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const stored = JSON.parse(lines[0]!) as Record<string, unknown>;
    const want = EJSON.serialize(expected, { relaxed: false }) as Record<string, unknown>;
    // Value by value, so a failure names the field.
    expect(Object.keys(stored).sort()).toEqual(Object.keys(want).sort());
    for (const key of Object.keys(want)) expect(stored[key], key).toEqual(want[key]);
    expect(stored.big).toEqual({ $numberLong: '9007199254740993' });
    expect(stored.dec).toEqual({ $numberDecimal: DEC });
    expect(stored.d).toEqual({ $numberDouble: '0.1' });
    expect('optN' in stored).toBe(false); // undefined stays absent, null stays null
  } finally {
    await server.dispose();
  }
});
