// Extreme values of every property type, written through the page, come out
// of the export exactly: relaxed and canonical Extended JSON, over HTTP and
// from the built CLI, each line read back by a spec-following parser and
// compared field by field with the BSON value built here; and the CSV
// export's cells for int64, doubles and dates. Runs on both sinks (the
// Playwright projects sqlite and postgres).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Binary, Decimal128, Double, EJSON, Int32, Long, ObjectId, UUID, type Document } from 'bson';
import { canonicalText, parseRelaxedEjson } from '../helpers/ejson-spec-parse.js';
import { ADMIN_KEY, ROOT, TestServer } from '../helpers/server.js';
import { test, expect } from './fixtures.js';

const SCHEMA_FILE = join(ROOT, 'tests/fixtures/extreme-values-schema.json');
const CLI = join(ROOT, 'server/bin/sw-ingest.js');
const OID = '65a1b2c3d4e5f60718293a4b';
const UUID_U = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const DEC = '1234567890123456789012345678901234'; // 34 significant digits
const DEC_NEG = '-1.234567890123456789012345678901234E+6144'; // 34 digits at the largest exponent
const TEXT = 'quote " backslash \\ newline \n tab \t control \u0001 astral 𝄞';

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const SAFE = 2n ** 53n;
const Y10000_MS = 253402300800000; // +010000-01-01T00:00:00.000Z
const YEAR0_MS = -62135596800001; // 0000-12-31T23:59:59.999Z

/** What the server must hold, built here with the bson package independently of the page (in schema order). */
const expected: Document = {
  _id: new ObjectId(OID),
  i64max: Long.fromBigInt(I64_MAX), i64min: Long.fromBigInt(I64_MIN), safePlus: Long.fromBigInt(SAFE + 1n),
  safeMinus: Long.fromBigInt(SAFE - 1n), negSafePlus: Long.fromBigInt(-(SAFE + 1n)), zero: Long.fromNumber(0), i32max: Long.fromNumber(2147483647),
  pz: new Double(0), nz: new Double(-0), one: new Double(1), minusOne: new Double(-1), huge: new Double(1e308), tiny: new Double(5e-324),
  nan: new Double(NaN), inf: new Double(Infinity), ninf: new Double(-Infinity), big: new Double(1.2345678921232e18),
  tenth: new Double(0.1), f: new Double(1.5), fOne: new Double(1),
  epoch: new Date(0), before1970: new Date(-1), y10000: new Date(Y10000_MS), year0: new Date(YEAR0_MS),
  last9999: new Date(Y10000_MS - 1), ms: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)),
  dec: Decimal128.fromString(DEC), decNeg: Decimal128.fromString(DEC_NEG), decNaN: Decimal128.fromString('NaN'),
  s: TEXT, empty: '', u: new UUID(UUID_U), bin: new Binary(new Uint8Array([0, 1, 127, 128, 255])), t: true, fl: false, optN: null,
  ints: [Long.fromBigInt(I64_MAX), Long.fromBigInt(I64_MIN), Long.fromBigInt(SAFE + 1n), Long.fromNumber(0)],
  doubles: [new Double(-0), new Double(1), new Double(NaN), new Double(1e308), new Double(5e-324), new Double(0.1)],
  dates: [new Date(-1), new Date(Y10000_MS), new Date(0)],
  dict: { one: new Double(1), nz: new Double(-0), ninf: new Double(-Infinity) },
  pair: { one: new Double(1), nz: new Double(-0), big: Long.fromBigInt(I64_MAX), label: 'é' },
  pairs: [{ one: new Double(-1), nz: new Double(0), big: Long.fromBigInt(I64_MIN), label: null }],
  m32: new Int32(2147483647), m32min: new Int32(-2147483648), mLong: Long.fromBigInt(I64_MAX), mDouble: new Double(1),
  mNz: new Double(-0), mDate: new Date(Y10000_MS), mDec: Decimal128.fromString(DEC),
  mNested: { a: [new Int32(1), Long.fromBigInt(2n ** 60n), new Double(1), new Double(-0), { b: new Int32(-7) }] },
  mlist: [new Int32(0), Long.fromBigInt(SAFE + 1n), new Double(1), new Double(NaN), new Date(YEAR0_MS), 'x', null, true],
};
const FIELDS = 52;

/**
 * What a spec-following reader of relaxed output gets for `value`: the
 * same, except that an int64 which fits in 32 bits reads back as an int32
 * (relaxed mode has one integer syntax; the spec says so).
 */
function asReadFromRelaxed(value: unknown): unknown {
  if (Long.isLong(value)) return value.greaterThanOrEqual(-(2 ** 31)) && value.lessThanOrEqual(2 ** 31 - 1) ? new Int32(value.toInt()) : value;
  if (Array.isArray(value)) return value.map(asReadFromRelaxed);
  if (value !== null && typeof value === 'object' && !('_bsontype' in value) && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asReadFromRelaxed(v)]));
  }
  return value;
}

/** Compares a read-back document with `want` field by field, so that a failure names the field. */
function expectSameFields(got: Document, want: Document, what: string): void {
  expect(Object.keys(got), what).toEqual(Object.keys(want));
  for (const key of Object.keys(want)) expect(canonicalText(got[key]), `${what}: ${key}`).toBe(canonicalText(want[key]));
}

const execFileAsync = promisify(execFile);

/** Runs the built `sw-ingest export` (as a user runs it) and returns its stdout. */
async function cliExport(args: string[]): Promise<string> {
  // The developer's SW_INGEST_* and DATABASE_URL must not change what the test runs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SW_INGEST_') && k !== 'DATABASE_URL'));
  const { stdout } = await execFileAsync(process.execPath, [CLI, 'export', ...args], { env, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The records of an RFC 4180 CSV text (CRLF rows, quoted cells may hold commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell); rows.push(row); row = []; cell = ''; i++;
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) throw new Error('CSV does not end in CRLF');
  return rows;
}

test(`extreme values of every property type export exactly: relaxed and canonical, over HTTP and the CLI, and as CSV: ${FIELDS} fields`, async ({ page }) => {
  expect(Object.keys(expected)).toHaveLength(FIELDS);
  const server = await new TestServer({ schemaFile: SCHEMA_FILE }).start();
  try {
    await page.goto(`${server.url}/`);
    await page.evaluate(async ({ schema, c }) => {
      const { SwIngest } = window as any;
      const { BSON } = SwIngest;
      const client = await SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema });
      const max = 2n ** 63n - 1n;
      const min = -(2n ** 63n);
      const safe = 2n ** 53n;
      await client.ingest('Extremes', {
        _id: new BSON.ObjectId(c.OID),
        i64max: max, i64min: min, safePlus: safe + 1n, safeMinus: Number(safe - 1n), negSafePlus: -(safe + 1n), zero: 0, i32max: 2147483647,
        pz: 0, nz: -0, one: 1, minusOne: -1, huge: 1e308, tiny: 5e-324, nan: NaN, inf: Infinity, ninf: -Infinity,
        big: 1.2345678921232e18, tenth: 0.1, f: 1.5, fOne: 1,
        epoch: new Date(0), before1970: new Date(-1), y10000: new Date(c.Y10000_MS), year0: new Date(c.YEAR0_MS),
        last9999: new Date(c.Y10000_MS - 1), ms: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)),
        dec: BSON.Decimal128.fromString(c.DEC), decNeg: BSON.Decimal128.fromString(c.DEC_NEG), decNaN: BSON.Decimal128.fromString('NaN'),
        s: c.TEXT, empty: '', u: new BSON.UUID(c.UUID_U), bin: new Uint8Array([0, 1, 127, 128, 255]), t: true, fl: false, optN: null,
        ints: [max, min, safe + 1n, 0],
        doubles: [-0, 1, NaN, 1e308, 5e-324, 0.1],
        dates: [new Date(-1), new Date(c.Y10000_MS), new Date(0)],
        dict: { one: 1, nz: -0, ninf: -Infinity },
        pair: { one: 1, nz: -0, big: max, label: 'é' },
        pairs: [{ one: -1, nz: 0, big: min, label: null }],
        m32: new BSON.Int32(2147483647), m32min: new BSON.Int32(-2147483648), mLong: max, mDouble: 1,
        mNz: -0, mDate: new Date(c.Y10000_MS), mDec: BSON.Decimal128.fromString(c.DEC),
        mNested: { a: [new BSON.Int32(1), 2n ** 60n, 1, -0, { b: new BSON.Int32(-7) }] },
        mlist: [new BSON.Int32(0), safe + 1n, 1, NaN, new Date(c.YEAR0_MS), 'x', null, true],
      });
      await client.flush();
    }, { schema: JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')), c: { OID, UUID_U, DEC, DEC_NEG, TEXT, Y10000_MS, YEAR0_MS } });

    const http = async (query: string): Promise<string> => {
      const res = await fetch(`${server.url}/api/admin/collections/Extremes/export${query}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
      expect(res.status).toBe(200);
      return res.text();
    };
    const oneLine = (body: string, what: string): string => {
      const lines = body.split('\n');
      expect(lines, what).toHaveLength(2);
      expect(lines[1], what).toBe('');
      return lines[0]!;
    };

    await test.step('relaxed: spec-exact tokens, read back field by field by a spec-following parser, the CLI printing the same bytes', async () => {
      const body = await http('');
      expect(await cliExport(['--db', server.db, '--collection', 'Extremes'])).toBe(body);
      const line = oneLine(body, 'relaxed');
      for (const token of [
        '"i64max":9223372036854775807,', '"i64min":-9223372036854775808,', '"safePlus":9007199254740993,', '"negSafePlus":-9007199254740993,',
        '"pz":0.0,', '"nz":{"$numberDouble":"-0.0"},', '"one":1.0,', '"minusOne":-1.0,', '"huge":1e+308,', '"tiny":5e-324,',
        '"nan":{"$numberDouble":"NaN"},', '"inf":{"$numberDouble":"Infinity"},', '"ninf":{"$numberDouble":"-Infinity"},',
        '"big":1.2345678921232e+18,', '"fOne":1.0,', '"epoch":{"$date":"1970-01-01T00:00:00Z"},',
        '"before1970":{"$date":{"$numberLong":"-1"}},', '"y10000":{"$date":{"$numberLong":"253402300800000"}},',
        '"year0":{"$date":{"$numberLong":"-62135596800001"}},', '"last9999":{"$date":"9999-12-31T23:59:59.999Z"},',
        `"dec":{"$numberDecimal":"${DEC}"},`, '"m32":2147483647,', '"m32min":-2147483648,', '"mDouble":1.0,',
        '"pair":{"one":1.0,"nz":{"$numberDouble":"-0.0"},"big":9223372036854775807,"label":"é"}',
      ]) expect(line, token).toContain(token);
      expectSameFields(parseRelaxedEjson(line), asReadFromRelaxed(expected) as Document, 'relaxed');
    });

    await test.step('canonical: read back by bson field by field, the CLI (--canonical) printing the same bytes', async () => {
      const body = await http('?format=canonical');
      expect(await cliExport(['--db', server.db, '--collection', 'Extremes', '--canonical'])).toBe(body);
      const line = oneLine(body, 'canonical');
      expect(line).toContain('"i64max":{"$numberLong":"9223372036854775807"}');
      expect(line).toContain('"m32":{"$numberInt":"2147483647"}');
      expectSameFields(EJSON.parse(line, { relaxed: false }) as Document, expected, 'canonical');
    });

    await test.step('envelopes: clockSkewMs an exact integer, the doc the same as without meta', async () => {
      for (const format of ['relaxed', 'canonical'] as const) {
        const body = await http(`?meta=true&format=${format}`);
        expect(await cliExport(['--db', server.db, '--collection', 'Extremes', '--meta', ...(format === 'canonical' ? ['--canonical'] : [])])).toBe(body);
        const line = oneLine(body, `meta ${format}`);
        const { meta, doc } = (format === 'relaxed' ? parseRelaxedEjson(line) : EJSON.parse(line, { relaxed: false })) as Document;
        expect(Object.keys(meta)).toEqual(['owner', 'clientId', 'ingestedAt', 'sentAt', 'receivedAt', 'clockSkewMs']);
        expect(Number(meta.clockSkewMs)).toBe(meta.receivedAt.getTime() - meta.sentAt.getTime());
        expect(line).toMatch(format === 'relaxed' ? /"clockSkewMs":-?\d+\}/ : /"clockSkewMs":\{"\$numberLong":"-?\d+"\}/);
        expectSameFields(doc, format === 'relaxed' ? (asReadFromRelaxed(expected) as Document) : expected, `meta ${format}`);
      }
    });

    await test.step('CSV: int64 as exact digits, doubles as their shortest round-trip text, -0 with its sign', async () => {
      const rows = parseCsv(await cliExport(['--db', server.db, '--collection', 'Extremes', '--format', 'csv', '--schema', SCHEMA_FILE]));
      expect(rows).toHaveLength(2);
      const [header, values] = rows as [string[], string[]];
      expect(header).toEqual(Object.keys(expected));
      const cell = Object.fromEntries(header.map((name, i) => [name, values[i]]));
      expect(cell).toMatchObject({
        _id: OID,
        i64max: '9223372036854775807', i64min: '-9223372036854775808', safePlus: '9007199254740993', safeMinus: '9007199254740991',
        negSafePlus: '-9007199254740993', zero: '0', i32max: '2147483647',
        pz: '0', nz: '-0', one: '1', minusOne: '-1', huge: '1e+308', tiny: '5e-324', nan: 'NaN', inf: 'Infinity', ninf: '-Infinity',
        big: '1234567892123200000', tenth: '0.1', f: '1.5', fOne: '1',
        epoch: '1970-01-01T00:00:00Z', before1970: '-1', y10000: '253402300800000', year0: '-62135596800001',
        last9999: '9999-12-31T23:59:59.999Z', ms: '2024-02-29T23:59:59.999Z',
        dec: DEC, decNeg: DEC_NEG, decNaN: 'NaN', s: TEXT, empty: '', t: 'true', fl: 'false', optN: '',
        m32: '2147483647', m32min: '-2147483648', mLong: '9223372036854775807', mDouble: '1', mNz: '-0', mDate: '253402300800000',
      });
      for (const name of ['pz', 'one', 'minusOne', 'huge', 'tiny', 'big', 'tenth', 'f', 'fOne']) {
        expect(Number(cell[name]), name).toBe((expected[name] as Double).value); // shortest round-trip text reads back exactly
      }
      // Lists and embedded objects are relaxed Extended JSON in one cell.
      expect(cell.ints).toBe('[9223372036854775807,-9223372036854775808,9007199254740993,0]');
      expect(cell.pair).toBe('{"one":1.0,"nz":{"$numberDouble":"-0.0"},"big":9223372036854775807,"label":"é"}');
      expectSameFields(parseRelaxedEjson(`{"doubles":${cell.doubles},"mNested":${cell.mNested}}`), asReadFromRelaxed({
        doubles: expected.doubles, mNested: expected.mNested,
      }) as Document, 'csv json cells');
    });
  } finally {
    await server.dispose();
  }
});
