import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Binary, Decimal128, Double, Long, ObjectId, UUID } from 'bson';
import { IngestError } from '../../core/errors.js';
import { convertDocument, parseSchema, primaryKeyString, type ObjectSchema } from '../../core/schema.js';

const schema: ObjectSchema[] = [
  { name: 'Point', embedded: true, properties: { x: 'double', y: 'double', label: 'string?' } },
  {
    name: 'Sample', asymmetric: true, primaryKey: '_id',
    properties: {
      _id: 'objectId', n: 'int', d: 'double', s: 'string', b: 'bool', at: 'date', dec: 'decimal128?',
      bin: 'data?', u: 'uuid?', m: 'mixed', tags: 'string[]', pts: 'Point[]', where: 'Point', dict: 'double{}',
      opt: { type: 'int', optional: true },
    },
  },
];
const parsed = parseSchema(schema);
const valid = () => ({ n: 1, d: 1.5, s: 'x', b: true, at: new Date(0), tags: ['a'], pts: [{ x: 1, y: 2 }], dict: { 'a key': 2 } });

function rejects(doc: unknown, code: string, path?: string, type = 'Sample'): void {
  assert.throws(() => convertDocument(parsed, type, doc), (e: unknown) => {
    assert.ok(e instanceof IngestError, `expected IngestError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (path !== undefined) assert.equal(e.path, path);
    if (path !== undefined) assert.ok(e.message.includes(path), `message names the path: ${e.message}`);
    return true;
  });
}

test('converts friendly values into exact BSON types and generates _id', () => {
  const out = convertDocument(parsed, 'Sample', { ...valid(), n: 2n ** 60n, bin: new Uint8Array([1, 2]), u: new UUID(), dec: Decimal128.fromString('1.000000000000000000000000000000001') });
  assert.ok(out._id instanceof ObjectId);
  assert.ok(out.n instanceof Long);
  assert.equal(out.n.toString(), (2n ** 60n).toString());
  assert.ok(out.d instanceof Double);
  assert.ok(out.bin instanceof Binary);
  assert.ok(out.pts[0].x instanceof Double);
  assert.ok(out.dict['a key'] instanceof Double);
  assert.equal(Object.keys(out)[0], '_id');
});

test('wire mode accepts what page mode produced and refuses plain numbers', () => {
  const page = convertDocument(parsed, 'Sample', valid());
  assert.doesNotThrow(() => convertDocument(parsed, 'Sample', page, 'wire'));
  // Off the wire a plain number has lost its BSON type: the server refuses to guess.
  assert.throws(() => convertDocument(parsed, 'Sample', { ...page, n: 1 }, 'wire'), { code: 'wrong-type', path: 'Sample.n' });
  assert.throws(() => convertDocument(parsed, 'Sample', { ...page, d: new Long(1) }, 'wire'), { code: 'wrong-type', path: 'Sample.d' });
  // and it never generates an _id for the client
  const { _id, ...noId } = page;
  assert.throws(() => convertDocument(parsed, 'Sample', noId, 'wire'), { code: 'missing-field', path: 'Sample._id' });
});

test('each rule rejects with its code and the path of the value', () => {
  rejects(valid(), 'unknown-type', 'Nope', 'Nope');
  rejects(valid(), 'unknown-type', 'Point', 'Point');
  rejects({ ...valid(), extra: 1 }, 'unknown-field', 'Sample.extra');
  rejects({ ...valid(), n: undefined }, 'missing-field', 'Sample.n');
  rejects({ ...valid(), s: null }, 'missing-field', 'Sample.s');
  rejects({ ...valid(), d: '1.5' }, 'wrong-type', 'Sample.d');
  rejects({ ...valid(), n: 1.5 }, 'not-an-integer', 'Sample.n');
  rejects({ ...valid(), n: 2n ** 63n }, 'int-out-of-range', 'Sample.n');
  rejects({ ...valid(), pts: [{ x: 1, y: 2 }, { x: 1, y: 2, label: 5 }] }, 'wrong-type', 'Sample.pts[1].label');
  rejects({ ...valid(), dict: { 'a.b': 1 } }, 'invalid-field-name', 'Sample.dict["a.b"]');
  rejects({ ...valid(), m: { $gt: 1 } }, 'invalid-field-name', 'Sample.m["$gt"]');
  rejects({ ...valid(), $where: 1 }, 'invalid-field-name');
  rejects({ ...valid(), m: () => 1 }, 'wrong-type', 'Sample.m');
  rejects({ ...valid(), m: Symbol('x') }, 'wrong-type', 'Sample.m');
  rejects({ ...valid(), m: new Map() }, 'wrong-type', 'Sample.m');
  rejects({ ...valid(), at: new Date(NaN) }, 'wrong-type', 'Sample.at');
  rejects({ ...valid(), s: '\ud800' }, 'wrong-type', 'Sample.s');
  rejects({ ...valid(), m: JSON.parse('{"__proto__": {"polluted": true}}') }, 'invalid-field-name', 'Sample.m.__proto__');
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  rejects({ ...valid(), m: deep }, 'nested-too-deep'); // the document itself is level 1
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  rejects({ ...valid(), m: cyclic }, 'cyclic-value');
});

test('a string primary key with NUL is refused on the page, as the server does', () => {
  const keyed = parseSchema([{ name: 'K', asymmetric: true, primaryKey: '_id', properties: { _id: 'string' } }]);
  assert.throws(() => convertDocument(keyed, 'K', { _id: 'a\0b' }), { code: 'wrong-type', path: 'K._id' });
  assert.doesNotThrow(() => convertDocument(keyed, 'K', { _id: 'a b' }));
});

test('primary keys of different types never collide', () => {
  assert.notEqual(primaryKeyString('1'), primaryKeyString(Long.fromNumber(1)));
  assert.equal(primaryKeyString(Long.fromNumber(1)), primaryKeyString(Long.fromBigInt(1n)));
});

test('schemas that break a rule fail with the type and property named', () => {
  const bad: Array<[unknown, RegExp]> = [
    [[], /non-empty/],
    [[{ name: 'A', asymmetric: true, primaryKey: '_id', properties: { _id: 'double' } }], /A\._id/],
    [[{ name: 'A', asymmetric: true, properties: { _id: 'objectId' } }], /A: an asymmetric type needs primaryKey/],
    [[{ name: 'A', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', p: 'Nope' } }], /A\.p: unknown type "Nope"/],
    [[{ name: 'A', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', p: 'int<>' } }], /A\.p: sets/],
    [[{ name: 'A', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', 'a.b': 'int' } }], /A\.a\.b: property name contains "\."/],
    [[{ name: 'A', properties: { x: 'int' } }], /A: every type must be asymmetric/],
  ];
  for (const [s, re] of bad) {
    assert.throws(() => parseSchema(s as ObjectSchema[]), (e: unknown) => e instanceof IngestError && e.code === 'invalid-schema' && re.test(e.message));
  }
});
