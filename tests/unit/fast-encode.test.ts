/**
 * The fast encoder of ingest() against the general path (convertDocument +
 * BSON.serialize): the same bytes for every document it takes, and
 * `undefined` (take the general path) for every document it does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BSON, Decimal128, Double, Int32, Long, ObjectId } from 'bson';
import { compileFastEncoder } from '../../lib/fast-encode.js';
import { convertDocument, parseSchema, type ObjectSchema } from '../../core/schema.js';
import { mulberry32 } from '../helpers/random.js';

const schema: ObjectSchema[] = [
  {
    name: 'Flat', asymmetric: true, primaryKey: '_id',
    properties: { _id: 'objectId', s: 'string', n: 'int', d: 'double', f: 'float', b: 'bool', at: 'date', os: 'string?', on: 'int?', od: 'double?', ob: 'bool?', oat: 'date?' },
  },
  { name: 'KeyLast', asymmetric: true, primaryKey: '_id', properties: { 'a key é': 'string', _id: 'objectId' } },
  { name: 'WithList', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', xs: 'int[]' } },
  { name: 'WithMixed', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', m: 'mixed' } },
  { name: 'StringKey', asymmetric: true, primaryKey: '_id', properties: { _id: 'string', s: 'string' } },
  { name: 'WithDecimal', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', x: 'decimal128' } },
];
const parsed = parseSchema(schema);
const flat = compileFastEncoder(parsed.get('Flat')!)!;

const general = (type: string, doc: unknown): Uint8Array => BSON.serialize(convertDocument(parsed, type, doc));

/** Strings that exercise the ASCII loop, multi-byte UTF-8 at the start, middle and end, and NUL inside a value. */
const STRINGS = ['', 'a', 'plain ascii text', 'é', 'aé', 'éa', 'x'.repeat(300) + '€', '日本語テキスト', '😀 emoji', 'nul\0inside', '\u007f\u0080'];
const NUMBERS = [0, -0, 1, -1, 0.5, Math.PI, -1e300, 1e-320, Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, NaN];
const INTS = [0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1), 123456789012];
const BIGINTS = [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 40n];
const DATES = [new Date(0), new Date(-1), new Date(8.64e15), new Date(-8.64e15), new Date(1_700_000_000_123), new Date(-62_135_596_800_000)];

function randomDoc(rand: () => number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (): unknown => {
    const r = rand();
    if (r < 0.6) return pick(INTS);
    if (r < 0.8) return pick(BIGINTS);
    return Long.fromBigInt(pick(BIGINTS));
  };
  const double = (): unknown => (rand() < 0.8 ? pick(NUMBERS) : new Double(pick(NUMBERS)));
  const doc: Record<string, unknown> = {
    _id: new ObjectId(), s: pick(STRINGS), n: int(), d: double(), f: double(), b: rand() < 0.5, at: pick(DATES),
  };
  const maybe = (name: string, value: () => unknown): void => {
    const r = rand();
    if (r < 0.3) return; // absent
    if (r < 0.5) doc[name] = null;
    else if (r < 0.6) doc[name] = undefined;
    else doc[name] = value();
  };
  maybe('os', () => pick(STRINGS));
  maybe('on', int);
  maybe('od', double);
  maybe('ob', () => rand() < 0.5);
  maybe('oat', () => pick(DATES));
  // Property order in the input must not matter: the schema's order is written.
  if (rand() < 0.5) return Object.fromEntries(Object.entries(doc).reverse());
  return doc;
}

test('the fast encoder writes the same bytes as convertDocument + BSON.serialize (2,000 random documents)', () => {
  const rand = mulberry32(7);
  for (let i = 0; i < 2_000; i++) {
    const doc = randomDoc(rand);
    const fast = flat(doc);
    assert.ok(fast, `fast path refused ${i}: ${String(Object.keys(doc))}`);
    assert.deepEqual(Buffer.from(fast), Buffer.from(general('Flat', doc)), `document ${i}`);
  }
});

test('a generated _id: same bytes apart from the id, which is a fresh ObjectId each time', () => {
  const doc = { s: 'x', n: 1, d: 2, f: 3, b: false, at: new Date(5) };
  const a = flat(doc)!;
  const b = flat({ ...doc, _id: null })!;
  const decoded = BSON.deserialize(a, { promoteValues: false });
  assert.ok(decoded._id instanceof ObjectId);
  assert.notEqual(decoded._id.toHexString(), (BSON.deserialize(b)._id as ObjectId).toHexString());
  assert.deepEqual(Buffer.from(a), Buffer.from(general('Flat', { ...doc, _id: decoded._id })));
  assert.equal(Object.keys(decoded)[0], '_id');
});

test('the schema order of keys is kept, also with _id last and a non-ASCII key', () => {
  const enc = compileFastEncoder(parsed.get('KeyLast')!)!;
  const doc = { _id: new ObjectId(), 'a key é': 'v' };
  assert.deepEqual(Buffer.from(enc(doc)!), Buffer.from(general('KeyLast', doc)));
});

test('a null-prototype document is encoded; a long string grows the scratch buffer', () => {
  const doc = Object.assign(Object.create(null), { _id: new ObjectId(), s: 'y'.repeat(100_000) + 'ü', n: 1, d: 1, f: 1, b: true, at: new Date(1) });
  assert.deepEqual(Buffer.from(flat(doc)!), Buffer.from(general('Flat', doc)));
  const small = { _id: new ObjectId(), s: 'z', n: 2, d: 2, f: 2, b: true, at: new Date(2) };
  assert.deepEqual(Buffer.from(flat(small)!), Buffer.from(general('Flat', small)));
});

test('every document the fast path does not take is left to the general path (undefined)', () => {
  const ok = { _id: new ObjectId(), s: 'x', n: 1, d: 1.5, f: 2.5, b: true, at: new Date(0) };
  const refused: [string, unknown][] = [
    ['not an object', 5],
    ['an array', [ok]],
    ['a class instance', new (class Reading { s = 'x'; })()],
    ['an unknown field', { ...ok, extra: 1 }],
    ['an unknown field set to undefined', { ...ok, extra: undefined }],
    ['a missing required field', { ...ok, s: undefined }],
    ['a required field set to null', { ...ok, n: null }],
    ['a number for a string', { ...ok, s: 5 }],
    ['a lone surrogate', { ...ok, s: 'a\ud800b' }],
    ['a fraction for an int', { ...ok, n: 1.5 }],
    ['an int beyond 2^53 as a number', { ...ok, n: 2 ** 60 }],
    ['an int beyond 64 bits', { ...ok, n: 2n ** 63n }],
    ['an Int32 (left to the general path)', { ...ok, n: new Int32(3) }],
    ['a string for a double', { ...ok, d: '1.5' }],
    ['a number for a bool', { ...ok, b: 1 }],
    ['an invalid Date', { ...ok, at: new Date(NaN) }],
    ['a number for a date', { ...ok, at: 0 }],
    ['a string for an objectId', { ...ok, _id: '65a0c0ffee' }],
    ['a Decimal128 for a double', { ...ok, d: Decimal128.fromString('1') }],
  ];
  for (const [what, doc] of refused) assert.equal(flat(doc), undefined, what);
  // And the general path gives each of them its verdict: an error, or (for the three it accepts) the bytes.
  for (const [what, doc] of refused) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = general('Flat', doc);
    } catch (e) {
      assert.ok((e as { code?: string }).code, `${what}: a typed error`);
      continue;
    }
    assert.ok(['an unknown field set to undefined', 'an int beyond 2^53 as a number', 'an Int32 (left to the general path)'].includes(what), `${what} was accepted by the general path`);
    assert.ok(bytes.length > 0);
  }
});

test('types with lists, mixed, decimal128 or a non-objectId key have no fast encoder', () => {
  for (const name of ['WithList', 'WithMixed', 'StringKey', 'WithDecimal']) assert.equal(compileFastEncoder(parsed.get(name)!), undefined, name);
});

test('a getter that ingests again while encoding: the inner call is left to the general path', () => {
  let inner: Uint8Array | undefined | 'not called' = 'not called';
  const doc = {
    _id: new ObjectId(), n: 1, d: 1, f: 1, b: true, at: new Date(0),
    get s() {
      inner = flat({ _id: new ObjectId(), s: 'inner', n: 2, d: 2, f: 2, b: false, at: new Date(1) });
      return 'outer';
    },
  };
  const outer = flat(doc);
  assert.equal(inner, undefined);
  assert.equal((BSON.deserialize(outer!) as { s: string }).s, 'outer');
});
