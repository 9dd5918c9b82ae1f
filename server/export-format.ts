/**
 * How stored documents leave the server: MongoDB Extended JSON, one document
 * per line (NDJSON). The one formatter behind `GET /api/admin/.../export`,
 * `sw-ingest export` and the demo summary.
 *
 * Stored bytes are decoded with `promoteValues: false` so that every value
 * keeps its BSON type: canonical output then tells an int (`$numberLong`)
 * from a double (`$numberDouble`); relaxed output prints both as plain
 * numbers, ObjectIds as `{"$oid": …}` and dates as `{"$date": …}`.
 */
import { BSON, EJSON, type Document } from 'bson';

/** `relaxed` (readable, lossy for number types) or `canonical` (type-exact). */
export type EjsonFormat = 'relaxed' | 'canonical';

/** Flush NDJSON output in chunks of about this size rather than line by line. */
const CHUNK_CHARS = 64 * 1024;

const decode = (bytes: Uint8Array): Document => BSON.deserialize(bytes, { promoteValues: false });

/**
 * One stored document as an Extended JSON line, newline included.
 *
 * @param bytes - the stored BSON
 * @param format - relaxed or canonical @default 'relaxed'
 * @example
 * ```ts
 * docToEjsonLine(BSON.serialize({ n: Long.fromNumber(7) })); // '{"n":7}\n'
 * ```
 */
export function docToEjsonLine(bytes: Uint8Array, format: EjsonFormat = 'relaxed'): string {
  return EJSON.stringify(decode(bytes), { relaxed: format === 'relaxed' }) + '\n';
}

/**
 * One stored document as a plain JSON-ready object in Extended JSON.
 *
 * @param bytes - the stored BSON
 * @param format - relaxed or canonical @default 'relaxed'
 */
export function docToEjsonObject(bytes: Uint8Array, format: EjsonFormat = 'relaxed'): Document {
  return EJSON.serialize(decode(bytes), { relaxed: format === 'relaxed' });
}

/**
 * NDJSON text of `docs`, in chunks of roughly 64 KiB, for
 * `Readable.from(...)` or a loop writing to stdout.
 *
 * @param docs - stored BSON documents, e.g. `store.exportDocs(name)`
 * @param format - relaxed or canonical @default 'relaxed'
 */
export async function* ndjsonChunks(docs: AsyncIterable<Uint8Array>, format: EjsonFormat = 'relaxed'): AsyncGenerator<string> {
  let chunk = '';
  for await (const bytes of docs) {
    chunk += docToEjsonLine(bytes, format);
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}
