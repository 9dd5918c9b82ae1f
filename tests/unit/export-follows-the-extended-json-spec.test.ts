// The export formatter writes what the MongoDB Extended JSON spec v2 says,
// byte for byte: relaxed int64 as exact digits at any magnitude, finite
// doubles always with a fraction or an exponent, -0.0, NaN and ±Infinity as
// $numberDouble, dates out of 1970–9999 as $numberLong; canonical unchanged;
// CSV cells exact. Bytes are checked, then read back with a spec-following
// parser (tests/helpers/ejson-spec-parse.ts) to the same types and values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Binary, BSON, Decimal128, Double, EJSON, Int32, Long, ObjectId, UUID, type Document } from 'bson';
import {
  csvChunks, docToEjsonLine, docToEjsonObject, ndjsonChunks, rowToEnvelopeLine,
} from '../../server/export-format.js';
import type { ExportedRow } from '../../server/store.js';
import { parseRelaxedEjson, sameBsonValue } from '../helpers/ejson-spec-parse.js';

const relaxed = (doc: Document): string => docToEjsonLine(BSON.serialize(doc));
const canonical = (doc: Document): string => docToEjsonLine(BSON.serialize(doc), 'canonical');

const row = (doc: Document, times: Partial<ExportedRow> = {}): ExportedRow => ({
  doc: BSON.serialize(doc), owner: 'u1', clientId: 'c1', ingestedAt: 0, sentAt: 1_000, receivedAt: 1_500, ...times,
});
async function* rowsOf(...docs: Document[]): AsyncGenerator<ExportedRow> {
  for (const doc of docs) yield row(doc);
}
async function text(chunks: AsyncIterable<string>): Promise<string> {
  let all = '';
  for await (const chunk of chunks) all += chunk;
  return all;
}

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const SAFE = 2n ** 53n;

test('relaxed int64 is exact integer digits at any magnitude: 8 values', () => {
  const cases: [bigint, string][] = [
    [I64_MAX, '9223372036854775807'], [I64_MIN, '-9223372036854775808'],
    [SAFE + 1n, '9007199254740993'], [SAFE - 1n, '9007199254740991'], [-(SAFE + 1n), '-9007199254740993'],
    [0n, '0'], [-1n, '-1'], [2n ** 31n, '2147483648'],
  ];
  for (const [n, digits] of cases) {
    assert.equal(relaxed({ big: Long.fromBigInt(n) }), `{"big":${digits}}\n`, String(n));
  }
  assert.equal(cases.length, 8);
});

test('relaxed finite doubles always carry a fraction or an exponent, in shortest round-trip digits: 14 values', () => {
  const cases: [number, string][] = [
    [1, '1.0'], [-1, '-1.0'], [0, '0.0'], [2.5, '2.5'], [0.1, '0.1'], [1e308, '1e+308'], [5e-324, '5e-324'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'], [1.2345678921232e18, '1.2345678921232e+18'],
    [-1.2345678921232e18, '-1.2345678921232e+18'], [2 ** 53, '9007199254740992.0'], [1e16, '1e+16'],
    [123456789012345.0, '123456789012345.0'], [1.5e-7, '1.5e-7'],
  ];
  for (const [x, token] of cases) {
    assert.equal(relaxed({ one: new Double(x) }), `{"one":${token}}\n`, String(x));
    assert.ok(Object.is(Number(token), x), `${token} reads back as ${x}`);
  }
  assert.equal(cases.length, 14);
});

test('random doubles of every magnitude read back exactly from a token with a fraction or an exponent: 10,000 values', () => {
  const bits = new DataView(new ArrayBuffer(8));
  let checked = 0;
  while (checked < 10_000) {
    for (let i = 0; i < 8; i++) bits.setUint8(i, Math.floor(Math.random() * 256));
    // Every other one an integral value, where JS would print no fraction.
    const x = checked % 2 === 0 ? bits.getFloat64(0) : Math.trunc(bits.getFloat64(0) / 2 ** Math.floor(Math.random() * 1100));
    if (!Number.isFinite(x) || Object.is(x, -0)) continue;
    const token = /^\{"x":(.*)\}\n$/.exec(relaxed({ x: new Double(x) }))![1]!;
    assert.match(token, /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/, token); // a JSON number
    assert.match(token, /[.eE]/, token);
    assert.ok(Object.is(Number(token), x), `${token} is not ${x}`);
    checked++;
  }
  assert.equal(checked, 10_000);
});

test('relaxed -0.0, NaN and ±Infinity are $numberDouble wrappers: 4 values', () => {
  const line = relaxed({ nz: new Double(-0), nan: new Double(NaN), inf: new Double(Infinity), ninf: new Double(-Infinity) });
  assert.equal(
    line,
    '{"nz":{"$numberDouble":"-0.0"},"nan":{"$numberDouble":"NaN"},"inf":{"$numberDouble":"Infinity"},"ninf":{"$numberDouble":"-Infinity"}}\n',
  );
});

test('relaxed dates are ISO strings in 1970–9999 and $numberLong outside: 7 dates', () => {
  const cases: [number, string][] = [
    [0, '{"$date":"1970-01-01T00:00:00Z"}'],
    [Date.UTC(2024, 1, 29, 23, 59, 59, 999), '{"$date":"2024-02-29T23:59:59.999Z"}'],
    [253402300799999, '{"$date":"9999-12-31T23:59:59.999Z"}'],
    [253402300800000, '{"$date":{"$numberLong":"253402300800000"}}'], // year 10000
    [-1, '{"$date":{"$numberLong":"-1"}}'], // 1969-12-31T23:59:59.999Z
    [-62135596800001, '{"$date":{"$numberLong":"-62135596800001"}}'], // 0000-12-31T23:59:59.999Z
    [8.64e15, '{"$date":{"$numberLong":"8640000000000000"}}'],
  ];
  for (const [ms, json] of cases) assert.equal(relaxed({ at: new Date(ms) }), `{"at":${json}}\n`, String(ms));
  assert.equal(cases.length, 7);
});

test('relaxed int32 (inside mixed values) is a plain integer, also nested in lists and objects: 4 values', () => {
  const line = relaxed({ m: new Int32(-2147483648), l: [new Int32(2147483647), new Int32(0)], o: { n: new Int32(-1) } });
  assert.equal(line, '{"m":-2147483648,"l":[2147483647,0],"o":{"n":-1}}\n');
});

test('the other types keep their Extended JSON wrappers in relaxed output: 7 types', () => {
  const oid = new ObjectId('65a1b2c3d4e5f60718293a4b');
  const line = relaxed({
    oid, u: new UUID('6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b'), bin: new Binary(new Uint8Array([0, 255])),
    dec: Decimal128.fromString('1234567890123456789012345678901234'), s: 'quote " slash \\ nl \n 𝄞', b: true, nil: null,
  });
  assert.equal(
    line,
    '{"oid":{"$oid":"65a1b2c3d4e5f60718293a4b"},"u":{"$binary":{"base64":"bxwrOk1eT2CKe5wNHi86Sw==","subType":"04"}},' +
      '"bin":{"$binary":{"base64":"AP8=","subType":"00"}},"dec":{"$numberDecimal":"1234567890123456789012345678901234"},' +
      '"s":"quote \\" slash \\\\ nl \\n 𝄞","b":true,"nil":null}\n',
  );
  // Where relaxed and canonical agree, the bytes are bson's own.
  const same = { oid, dec: Decimal128.fromString('-1.234567890123456789012345678901234E+6144'), u: new UUID(), bin: new Binary(new Uint8Array([1])) };
  assert.equal(relaxed(same), canonical(same));
});

/** Every extreme value at once, nested in lists and embedded objects too. */
const EXTREMES: Document = {
  _id: new ObjectId('65a1b2c3d4e5f60718293a4b'),
  max: Long.fromBigInt(I64_MAX), min: Long.fromBigInt(I64_MIN), safePlus: Long.fromBigInt(SAFE + 1n), small: Long.fromNumber(7),
  one: new Double(1), minusOne: new Double(-1), nz: new Double(-0), nan: new Double(NaN), inf: new Double(Infinity),
  ninf: new Double(-Infinity), huge: new Double(1e308), tiny: new Double(5e-324), big: new Double(1.2345678921232e18),
  i32: new Int32(-5), y10000: new Date(253402300800000), before1970: new Date(-1), at: new Date(Date.UTC(2026, 0, 1)),
  list: [Long.fromBigInt(I64_MIN), new Double(1), new Double(-0), new Int32(3), new Date(-62135596800001)],
  point: { x: new Double(1), y: new Double(-2), label: 'é' },
};

test('a spec-following reader reads relaxed output back to the same BSON types and values: 20 fields', () => {
  const line = relaxed(EXTREMES);
  assert.ok(line.includes('"max":9223372036854775807,'), line);
  assert.ok(line.includes('"safePlus":9007199254740993,'), line);
  assert.ok(line.includes('"one":1.0,"minusOne":-1.0,"nz":{"$numberDouble":"-0.0"}'), line);
  assert.ok(line.includes('"big":1.2345678921232e+18,'), line);
  assert.ok(line.includes('"point":{"x":1.0,"y":-2.0,"label":"é"}'), line);
  const back = parseRelaxedEjson(line);
  assert.equal(Object.keys(back).length, 20);
  for (const [key, want] of Object.entries(EXTREMES)) {
    // Relaxed mode cannot tell an int64 that fits 32 bits from an int32 (the spec says so): 7 reads back as Int32.
    const expected = key === 'small' ? new Int32(7) : want;
    assert.ok(sameBsonValue(back[key], expected), `${key}: ${EJSON.stringify(back[key], { relaxed: false })}`);
  }
});

test('canonical output stays exactly as bson writes it: 1 line for all 20 fields', () => {
  const line = canonical(EXTREMES);
  assert.equal(line, EJSON.stringify(BSON.deserialize(BSON.serialize(EXTREMES), { promoteValues: false }), { relaxed: false }) + '\n');
  assert.ok(line.includes('"max":{"$numberLong":"9223372036854775807"}'), line);
  assert.ok(line.includes('"one":{"$numberDouble":"1.0"}'), line);
  assert.ok(line.includes('"i32":{"$numberInt":"-5"}'), line);
  const back = EJSON.parse(line, { relaxed: false }) as Document;
  for (const [key, want] of Object.entries(EXTREMES)) assert.ok(sameBsonValue(back[key], want), key);
});

test('envelopes follow the same rules: clockSkewMs is an exact int64, meta dates in or out of range: 2 lines', () => {
  const doc = { _id: 'a', one: new Double(1) };
  const far = rowToEnvelopeLine(row(doc, { ingestedAt: -1, sentAt: 0, receivedAt: 253402300800000 }));
  assert.equal(
    far,
    '{"meta":{"owner":"u1","clientId":"c1","ingestedAt":{"$date":{"$numberLong":"-1"}},"sentAt":{"$date":"1970-01-01T00:00:00Z"},' +
      '"receivedAt":{"$date":{"$numberLong":"253402300800000"}},"clockSkewMs":253402300800000},"doc":{"_id":"a","one":1.0}}\n',
  );
  const near = rowToEnvelopeLine(row(doc, { ingestedAt: 1_000, sentAt: 2_000, receivedAt: 500 }), 'canonical');
  assert.equal(
    near,
    '{"meta":{"owner":"u1","clientId":"c1","ingestedAt":{"$date":{"$numberLong":"1000"}},"sentAt":{"$date":{"$numberLong":"2000"}},' +
      '"receivedAt":{"$date":{"$numberLong":"500"}},"clockSkewMs":{"$numberLong":"-1500"}},"doc":{"_id":"a","one":{"$numberDouble":"1.0"}}}\n',
  );
});

test('NDJSON chunks hold the same lines as the line formatter, in order: 3,000 lines', async () => {
  const docs = Array.from({ length: 3_000 }, (_, i) => ({ _id: i, n: Long.fromBigInt(SAFE + BigInt(i)), d: new Double(i) }));
  const all = await text(ndjsonChunks(rowsOf(...docs)));
  const lines = all.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 3_000);
  assert.equal(lines[2_999], '{"_id":2999,"n":9007199254743991,"d":2999.0}'); // a JS integer serializes as int32
  assert.equal(all, docs.map(relaxed).join(''));
  const meta = await text(ndjsonChunks(rowsOf(docs[0]!), { meta: true, format: 'canonical' }));
  assert.equal(meta, rowToEnvelopeLine(row(docs[0]!), 'canonical'));
});

test('CSV cells: int64 as exact digits, doubles as their shortest round-trip text with -0 as "-0": 16 cells', async () => {
  const doc = {
    max: Long.fromBigInt(I64_MAX), min: Long.fromBigInt(I64_MIN), safePlus: Long.fromBigInt(SAFE + 1n),
    one: new Double(1), nz: new Double(-0), nan: new Double(NaN), inf: new Double(Infinity), ninf: new Double(-Infinity),
    tiny: new Double(5e-324), big: new Double(1.2345678921232e18), tenth: new Double(0.1), i32: new Int32(-7),
    at: new Date(Date.UTC(2026, 0, 1)), far: new Date(253402300800000), dec: Decimal128.fromString('-0.000001'),
    list: [Long.fromBigInt(SAFE + 1n), new Double(1)],
  };
  const columns = Object.keys(doc);
  const csv = await text(csvChunks(rowsOf(doc), columns));
  const [header, cells, end] = csv.split('\r\n');
  assert.equal(header, columns.join(','));
  assert.equal(end, '');
  assert.deepEqual(cells!.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/), [
    '9223372036854775807', '-9223372036854775808', '9007199254740993', '1', '-0', 'NaN', 'Infinity', '-Infinity',
    '5e-324', '1234567892123200000', '0.1', '-7', '2026-01-01T00:00:00Z', '253402300800000', '-0.000001',
    '"[9007199254740993,1.0]"',
  ]);
  const withMeta = await text(csvChunks(rowsOf({ _id: 'a' }), ['_id'], { meta: true }));
  assert.equal(withMeta, 'owner,clientId,ingestedAt,sentAt,receivedAt,clockSkewMs,_id\r\nu1,c1,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,1970-01-01T00:00:01.500Z,500,a\r\n');
});

test('the demo summary object prints through JSON.stringify to what a spec reader reads back exactly: 20 fields', () => {
  const object = docToEjsonObject(BSON.serialize(EXTREMES));
  const json = JSON.stringify(object);
  // A plain number where JSON.stringify prints the relaxed token itself, the canonical wrapper where it cannot.
  assert.ok(json.includes('"max":{"$numberLong":"9223372036854775807"}'), json);
  assert.ok(json.includes('"one":{"$numberDouble":"1.0"}'), json);
  assert.ok(json.includes('"small":7,'), json);
  assert.ok(json.includes('"point":{"x":{"$numberDouble":"1.0"},"y":{"$numberDouble":"-2.0"},"label":"é"}'), json);
  const back = parseRelaxedEjson(json);
  for (const [key, want] of Object.entries(EXTREMES)) {
    assert.ok(sameBsonValue(back[key], key === 'small' ? new Int32(7) : want), key);
  }
  assert.deepEqual(docToEjsonObject(BSON.serialize(EXTREMES), 'canonical'), JSON.parse(canonical(EXTREMES)));
});
