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
  return EJSON.stringify({ meta: rowMeta(row), doc: decode(row.doc) }, { relaxed: format === 'relaxed' }) + '\n';
}

/** The {@link ExportMeta} of a stored row. */
function rowMeta(row: ExportedRow): ExportMeta {
  return {
    owner: row.owner,
    clientId: row.clientId,
    ingestedAt: new Date(row.ingestedAt),
    sentAt: new Date(row.sentAt),
    receivedAt: new Date(row.receivedAt),
    clockSkewMs: Long.fromNumber(row.receivedAt - row.sentAt),
  };
}

/** Keeps the rows the server received in `[since, until)` (ms; either bound optional). Scans the collection. */
export async function* receivedBetween(rows: AsyncIterable<ExportedRow>, since?: number, until?: number): AsyncGenerator<ExportedRow> {
  for await (const row of rows) {
    if ((since === undefined || row.receivedAt >= since) && (until === undefined || row.receivedAt < until)) yield row;
  }
}

/** The meta columns of a CSV export with metadata, in order. */
const META_COLUMNS = ['owner', 'clientId', 'ingestedAt', 'sentAt', 'receivedAt', 'clockSkewMs'] as const;

/** One CSV cell (RFC 4180) of a relaxed Extended JSON value: scalars as text, ids and dates bare, the rest as JSON. */
function csvCell(value: unknown): string {
  let text: string;
  if (value === undefined || value === null) text = '';
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else {
    const wrapped = value as Record<string, unknown>;
    const keys = Object.keys(wrapped);
    const only = keys.length === 1 ? keys[0]! : '';
    const inner = wrapped[only];
    if (['$oid', '$numberDecimal', '$numberLong', '$numberDouble', '$uuid'].includes(only) && typeof inner === 'string') text = inner;
    else if (only === '$date') text = typeof inner === 'string' ? inner : csvCell(inner);
    else text = JSON.stringify(value);
  }
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * CSV of `rows`: a header, then one line per document with the given
 * columns (the type's properties, in schema order), optionally preceded by
 * the metadata columns. Values as relaxed Extended JSON: ids and dates bare
 * (`65a1…`, `2026-01-01T00:00:00Z`), numbers as text, embedded objects,
 * lists and binary as JSON.
 */
export async function* csvChunks(rows: AsyncIterable<ExportedRow>, columns: readonly string[], options: { meta?: boolean } = {}): AsyncGenerator<string> {
  const header = [...(options.meta ? META_COLUMNS : []), ...columns];
  let chunk = header.map(csvCell).join(',') + '\r\n';
  for await (const row of rows) {
    const doc = EJSON.serialize(decode(row.doc), { relaxed: true }) as Record<string, unknown>;
    const meta = options.meta ? (EJSON.serialize(rowMeta(row), { relaxed: true }) as Record<string, unknown>) : {};
    chunk += [...(options.meta ? META_COLUMNS.map((c) => meta[c]) : []), ...columns.map((c) => doc[c])].map(csvCell).join(',') + '\r\n';
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
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
