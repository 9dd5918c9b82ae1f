/**
 * How stored documents leave the server: MongoDB Extended JSON (spec v2),
 * one document per line (NDJSON), and CSV. The one formatter behind
 * `GET /api/admin/.../export`, `sw-ingest export` and the demo summary.
 *
 * With `meta`, each line is an envelope that keeps the server's metadata
 * apart from the user's fields (see {@link ExportMeta}):
 * `{"meta": {...}, "doc": {...}}`.
 *
 * Stored bytes are decoded with `promoteValues: false` so that every value
 * keeps its BSON type. Canonical output is bson's `EJSON.stringify` as is.
 * Relaxed output follows the spec's relaxed mode so that a spec-following
 * reader gets back the same types and values, except that an int64 which
 * fits in 32 bits reads back as an int32 (relaxed mode has one integer
 * syntax for both):
 * - int32 and int64: exact integer digits at any magnitude (`9223372036854775807`);
 * - finite doubles: always with a fraction or an exponent, shortest
 *   round-trip digits (`1.0`, `-1.0`, `0.1`, `1.2345678921232e+18`, `5e-324`);
 * - -0.0, NaN, ±Infinity: `{"$numberDouble": "-0.0" | "NaN" | "Infinity" | "-Infinity"}`
 *   (the spec's corpus writes -0.0 as the bare token `-0.0`; spec readers
 *   take the canonical wrapper in relaxed input too, and it shows the sign);
 * - dates: `{"$date": "<ISO 8601>"}` for years 1970–9999, else
 *   `{"$date": {"$numberLong": "<ms>"}}`;
 * - every other type as in canonical output (`$oid`, `$binary`, `$numberDecimal`).
 *
 * bson's own relaxed output gets the numbers wrong:
 * `Long.toExtendedJSON({relaxed: true})` returns `this.toNumber()`, which
 * rounds int64 beyond ±2^53 through a double (2^53+1 prints as
 * 9007199254740992, 2^63-1 as 9223372036854776000), and
 * `Double.toExtendedJSON({relaxed: true})` returns the JS number, which
 * `JSON.stringify` prints as `1` for 1.0 (a spec reader takes it for an
 * integer) and `0` for -0.0. So relaxed values are built here from the
 * decoded BSON values, numbers as `LosslessNumber`s holding their exact
 * text, and written by lossless-json's `stringify`, which prints those as
 * raw number tokens (Node 20 has no `JSON.rawJSON`).
 */
import { BSON, EJSON, Long, type Decimal128, type Document, type ObjectId } from 'bson';
import { LosslessNumber, stringify } from 'lossless-json';
import type { ExportedRow } from './store.js';

/** `relaxed` (readable; int64 and int32 share one syntax) or `canonical` (type-exact, every number wrapped). */
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
 * `clockSkewMs` is an int64 (exact integer digits in relaxed output).
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

/**
 * The first instant of year 10000 (ms): relaxed dates are ISO strings from
 * 0 up to, not including, this (the spec's 1970–9999; bson uses the same bounds).
 */
const RELAXED_DATE_END_MS = 253402300800000;

/**
 * From this magnitude on, an integral double is written with an exponent
 * (`1.2345678921232e+18`), as Python's repr and the spec's test corpus
 * write it; `String()` would give integer digits padded with zeros that are
 * not significant (`1234567892123200000`). Below it, `String(x) + '.0'`.
 */
const DOUBLE_EXPONENT_FROM = 1e16;

const decode = (bytes: Uint8Array): Document => BSON.deserialize(bytes, { promoteValues: false });

/** Which canonical wrapper a number token stands for. */
type NumberKind = '$numberInt' | '$numberLong' | '$numberDouble';

/** How a relaxed number token (`text`, valid JSON) is represented in the tree handed to a JSON writer. */
type NumberOut = (kind: NumberKind, text: string) => unknown;

/** For lossless-json's `stringify`: the token verbatim. */
const losslessNumber: NumberOut = (_kind, text) => new LosslessNumber(text);

/**
 * For `JSON.stringify` (the demo summary, sent by fastify): a JS number
 * where `JSON.stringify` prints exactly the relaxed token, else the
 * canonical wrapper (valid in relaxed output too), so nothing is rounded
 * and no double reads back as an integer.
 */
const plainNumber: NumberOut = (kind, text) => {
  const n = Number(text);
  return JSON.stringify(n) === text ? n : { [kind]: text };
};

/**
 * A finite double as a relaxed number token: a fraction or an exponent,
 * always, in the shortest digits that read back to the same double; or
 * undefined for -0.0, NaN and ±Infinity, which relaxed output wraps.
 */
function relaxedDoubleText(x: number): string | undefined {
  if (!Number.isFinite(x) || Object.is(x, -0)) return undefined;
  if (!Number.isInteger(x)) return String(x); // has "." or "e-": a non-integer needs one
  // toExponential() without digits is the shortest round-trip form, like String().
  return Math.abs(x) >= DOUBLE_EXPONENT_FROM ? x.toExponential() : `${String(x)}.0`;
}

/** An int64's exact decimal digits; through a JS number only where that is exact (faster than Long's division loop). */
function int64Text(long: Long): string {
  const n = long.toNumber();
  return Number.isSafeInteger(n) ? String(n) : long.toString();
}

/** A date as bson writes a relaxed one: ISO 8601 without ".000" in range, else canonical. */
function relaxedDate(date: Date): Document {
  const ms = date.getTime();
  if (ms >= 0 && ms < RELAXED_DATE_END_MS) {
    const iso = date.toISOString();
    return { $date: date.getUTCMilliseconds() === 0 ? `${iso.slice(0, -5)}Z` : iso };
  }
  return { $date: { $numberLong: String(ms) } };
}

/**
 * A decoded BSON value (promoteValues: false) as the relaxed Extended JSON
 * tree: numbers through `number`, dates per the spec, containers walked,
 * every other BSON type as bson's canonical Extended JSON (the same in
 * relaxed mode). Field names need no care: the schema refuses `$…` and
 * `__proto__`, so no user object looks like a wrapper or loses a key.
 */
function toRelaxed(value: unknown, number: NumberOut): unknown {
  if (value === null || typeof value !== 'object') return value; // string, boolean, null: numbers arrive wrapped
  if (Array.isArray(value)) return value.map((v) => toRelaxed(v, number));
  if (value instanceof Date) return relaxedDate(value);
  const bsonValue = value as { _bsontype?: string; value?: number };
  switch (bsonValue._bsontype) {
    case 'Long':
      return number('$numberLong', int64Text(value as Long));
    case 'Int32':
      return number('$numberInt', String(bsonValue.value));
    case 'Double': {
      const text = relaxedDoubleText(bsonValue.value!);
      return text === undefined ? EJSON.serialize(value, { relaxed: false }) : number('$numberDouble', text);
    }
    case undefined: {
      const out: Document = {};
      for (const key of Object.keys(value)) out[key] = toRelaxed((value as Document)[key], number);
      return out;
    }
    // The two commonest leaves, as bson's toExtendedJSON writes them, without
    // EJSON.serialize's stringify-and-parse per value (about 1.5 µs each);
    // the unit test pins them to bson's bytes.
    case 'ObjectId':
      return { $oid: (value as ObjectId).toHexString() };
    case 'Decimal128':
      return { $numberDecimal: (value as Decimal128).toString() };
    default:
      return EJSON.serialize(value, { relaxed: false });
  }
}

/** One decoded value (a document, an envelope) as a line of text in `format`, newline included. */
function ejsonLine(value: Document, format: EjsonFormat): string {
  if (format === 'canonical') return EJSON.stringify(value, { relaxed: false }) + '\n';
  return stringify(toRelaxed(value, losslessNumber)) + '\n';
}

/**
 * One stored document as an Extended JSON line, newline included.
 *
 * @param bytes - the stored BSON
 * @param format - relaxed or canonical @default 'relaxed'
 * @example
 * ```ts
 * docToEjsonLine(BSON.serialize({ n: Long.fromBigInt(2n ** 63n - 1n), d: new Double(1) }));
 * // '{"n":9223372036854775807,"d":1.0}\n'
 * ```
 */
export function docToEjsonLine(bytes: Uint8Array, format: EjsonFormat = 'relaxed'): string {
  return ejsonLine(decode(bytes), format);
}

/**
 * One stored document as a plain object that `JSON.stringify` prints as
 * Extended JSON. Canonical: bson's canonical form. Relaxed: as the relaxed
 * line, except for numbers a JS number cannot print as their relaxed token
 * (int64 beyond ±2^53, integral doubles such as 1.0): those keep their
 * canonical wrapper (`{"$numberLong": "9007199254740993"}`,
 * `{"$numberDouble": "1.0"}`), so that a spec-following reader still gets
 * the exact types and values.
 *
 * @param bytes - the stored BSON
 * @param format - relaxed or canonical @default 'relaxed'
 */
export function docToEjsonObject(bytes: Uint8Array, format: EjsonFormat = 'relaxed'): Document {
  const doc = decode(bytes);
  return format === 'canonical' ? EJSON.serialize(doc, { relaxed: false }) : (toRelaxed(doc, plainNumber) as Document);
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
  return ejsonLine({ meta: rowMeta(row), doc: decode(row.doc) }, format);
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

/**
 * The text of one CSV cell for a decoded BSON value: strings and booleans
 * as they are; int32 and int64 as exact digits; doubles as their shortest
 * round-trip text (`String(x)`: `1`, `0.1`, `NaN`, `Infinity`, `5e-324`),
 * but -0 as `-0`, which `String` drops; dates as relaxed Extended JSON has
 * them, bare (`2026-01-01T00:00:00Z`, or the ms outside 1970–9999);
 * ObjectIds as hex, decimal128 as its text; embedded objects, lists and
 * binary as relaxed Extended JSON.
 */
function csvText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'object') return String(value); // string, boolean
  if (value instanceof Date) {
    const { $date } = relaxedDate(value);
    return typeof $date === 'string' ? $date : ($date as { $numberLong: string }).$numberLong;
  }
  const bsonValue = value as { _bsontype?: string; value?: number; toString(): string; toHexString?(): string };
  switch (bsonValue._bsontype) {
    case 'Long':
      return int64Text(value as Long);
    case 'Decimal128':
      return bsonValue.toString();
    case 'Int32':
      return String(bsonValue.value);
    case 'Double':
      return Object.is(bsonValue.value, -0) ? '-0' : String(bsonValue.value);
    case 'ObjectId':
      return bsonValue.toHexString!();
    default:
      return stringify(toRelaxed(value, losslessNumber))!;
  }
}

/** One CSV cell (RFC 4180): quoted when it holds a quote, comma or line break. */
function csvCell(value: unknown): string {
  const text = csvText(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * CSV of `rows`: a header, then one line per document with the given
 * columns (the type's properties, in schema order), optionally preceded by
 * the metadata columns. Ids and dates bare (`65a1…`, `2026-01-01T00:00:00Z`),
 * int64 as exact digits, doubles as their shortest round-trip text (`-0`
 * keeps its sign), embedded objects, lists and binary as relaxed Extended
 * JSON.
 */
export async function* csvChunks(rows: AsyncIterable<ExportedRow>, columns: readonly string[], options: { meta?: boolean } = {}): AsyncGenerator<string> {
  const header = [...(options.meta ? META_COLUMNS : []), ...columns];
  let chunk = header.map(csvCell).join(',') + '\r\n';
  for await (const row of rows) {
    const doc = decode(row.doc);
    const meta = options.meta ? rowMeta(row) : undefined;
    chunk += [...(meta ? META_COLUMNS.map((c) => meta[c]) : []), ...columns.map((c) => doc[c])].map(csvCell).join(',') + '\r\n';
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
