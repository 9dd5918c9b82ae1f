// Type-level test, checked by `tsc -p tests` (npm test): each @ts-expect-error
// must be an error, or tsc fails with "Unused '@ts-expect-error' directive".
import { BSON, defineSchema, open, type IngestClient, type IngestDocument } from '../../lib/index.js';

const schema = defineSchema([
  { name: 'Point', embedded: true, properties: { x: 'double', y: 'double', label: 'string?' } },
  {
    name: 'Sample', asymmetric: true, primaryKey: '_id',
    properties: {
      _id: 'objectId', n: 'int', d: 'double', s: 'string', at: 'date', note: 'string?', tags: 'string[]',
      pts: 'Point[]', where: 'Point', dict: 'double{}', m: 'mixed', bytes: { type: 'data', optional: true },
    },
  },
]);

export async function typed(): Promise<void> {
  const client = await open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema });
  await client.ingest('Sample', { n: 1, d: 1.5, s: 'x', at: new Date() });
  await client.ingest('Sample', {
    _id: new BSON.ObjectId(), n: 2n ** 60n, d: new BSON.Double(2), s: '', at: new Date(), note: null, tags: ['a'],
    pts: [{ x: 1, y: 2 }], where: { x: 0, y: 0, label: 'origin' }, dict: { 'a key': 1 }, m: { any: [1, 'two', null] },
    bytes: new Uint8Array(2),
  });
  await client.ingest('Sample', [{ n: 1, d: 1, s: 'a', at: new Date() }, { n: 2, d: 2, s: 'b', at: new Date() }]);

  // @ts-expect-error unknown type
  await client.ingest('Nope', { n: 1 });
  // @ts-expect-error embedded types cannot be ingested
  await client.ingest('Point', { x: 1, y: 2 });
  // @ts-expect-error unknown field
  await client.ingest('Sample', { n: 1, d: 1.5, s: 'x', at: new Date(), extra: true });
  // @ts-expect-error missing required field `s`
  await client.ingest('Sample', { n: 1, d: 1.5, at: new Date() });
  // @ts-expect-error wrong type: string for int
  await client.ingest('Sample', { n: '1', d: 1.5, s: 'x', at: new Date() });
  // @ts-expect-error wrong type inside an embedded object in a list
  await client.ingest('Sample', { n: 1, d: 1.5, s: 'x', at: new Date(), pts: [{ x: 1, y: 'two' }] });
  // @ts-expect-error null for a required field
  await client.ingest('Sample', { n: 1, d: 1.5, s: null, at: new Date() });
  // @ts-expect-error wrong _id type
  await client.ingest('Sample', { _id: 'abc', n: 1, d: 1.5, s: 'x', at: new Date() });
}

// The document type is usable on its own.
export const sample: IngestDocument<typeof schema, 'Sample'> = { n: 1, d: 2, s: 's', at: new Date() };

// A schema TypeScript knows only loosely (e.g. loaded from JSON) leaves documents untyped.
export async function untyped(loose: Array<{ name: string; asymmetric?: boolean; primaryKey?: string; properties: Record<string, string> }>): Promise<void> {
  const client = await open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: loose });
  await client.ingest('Anything', { any: 'thing' });
  // …and is a plain IngestClient.
  const plain: IngestClient = client;
  void plain;
}

// Written inline, the schema types ingest() without `as const`.
export async function inline(): Promise<void> {
  const client = await open({
    endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js',
    schema: [{ name: 'Reading', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', temp: 'double' } }],
  });
  await client.ingest('Reading', { temp: 21.5 });
  // @ts-expect-error wrong type for a double
  await client.ingest('Reading', { temp: '21.5' });
}
