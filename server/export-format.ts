/**
 * How stored documents leave the server: MongoDB Extended JSON, one document
 * per line (NDJSON). The one formatter behind `GET /api/admin/.../export`,
 * `sw-ingest export` and the demo summary.
 *
 * With `meta`, each line is an envelope that keeps the server's metadata
 * apart from the user's fields (see {@link ExportMeta}):
 * `{"meta": {...}, "doc": {...}}`.
 *
 * Stored bytes are decoded with `promoteValues: false` so that every value
 * keeps its BSON type: canonical output then tells an int (`$numberLong`)
 * from a double (`$numberDouble`); relaxed output prints both as plain
 * numbers, ObjectIds as `{"$oid": …}` and dates as `{"$date": …}`.
 */
import { BSON, EJSON, Long, type Document } from 'bson';
import type { ExportedRow } from './store.js';

/** `relaxed` (readable, lossy for number types) or `canonical` (type-exact). */
export type EjsonFormat = 'relaxed' | 'canonical';

/** Options of {@link ndjsonChunks}. */
export interface ExportOptions {
  /** relaxed or canonical Extended JSON. @default 'relaxed' */
  format?: EjsonFormat;
  /** Print `{"meta", "doc"}` envelopes instead of bare documents. @default false */
  meta?: boolean;
}

/**
 * The `meta` of an export envelope line. Dates are Extended JSON dates;
 * `clockSkewMs` is an int64 (a plain number in relaxed output).
 */
export interface ExportMeta {
  /** The user id (`sub` of the access token) that uploaded the record. */
  owner: string;
  /** The id of the device's outbox that uploaded it. */
  clientId: string;
  /** When `ingest()` was called, by the device's clock. */
  ingestedAt: Date;
  /** When the service worker sent the upload, by the device's clock. */
  sentAt: Date;
  /** When the server received the upload, by the server's clock. */
  receivedAt: Date;
  /**
   * `receivedAt - sentAt` in ms: add it to the device times to put them on
   * the server's clock (it includes the upload's network time).
   */
  clockSkewMs: Long;
}

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
 * One exported row as an envelope line, `{"meta": {...}, "doc": {...}}`,
 * newline included.
 *
 * @param row - a row of `store.exportRows(name)`
 * @param format - relaxed or canonical @default 'relaxed'
 * @example
 * ```ts
 * rowToEnvelopeLine(row);
 * // '{"meta":{"owner":"…","clientId":"…","ingestedAt":{"$date":"…"},…,"clockSkewMs":-1200},"doc":{…}}\n'
 * ```
 */
export function rowToEnvelopeLine(row: ExportedRow, format: EjsonFormat = 'relaxed'): string {
  const meta: ExportMeta = {
    owner: row.owner,
    clientId: row.clientId,
    ingestedAt: new Date(row.ingestedAt),
    sentAt: new Date(row.sentAt),
    receivedAt: new Date(row.receivedAt),
    clockSkewMs: Long.fromNumber(row.receivedAt - row.sentAt),
  };
  return EJSON.stringify({ meta, doc: decode(row.doc) }, { relaxed: format === 'relaxed' }) + '\n';
}

/**
 * NDJSON text of `rows`, in chunks of roughly 64 KiB, for
 * `Readable.from(...)` or a loop writing to stdout.
 *
 * @param rows - stored rows, e.g. `store.exportRows(name)`
 * @param options - see {@link ExportOptions}
 */
export async function* ndjsonChunks(rows: AsyncIterable<ExportedRow>, options: ExportOptions = {}): AsyncGenerator<string> {
  const { format = 'relaxed', meta = false } = options;
  let chunk = '';
  for await (const row of rows) {
    chunk += meta ? rowToEnvelopeLine(row, format) : docToEjsonLine(row.doc, format);
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}
