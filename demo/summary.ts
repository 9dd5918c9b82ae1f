/**
 * What the server sends the demo page, read into rows: the body of
 * `GET /api/demo/summary`, which `GET /api/demo/events` also pushes as each
 * `summary` event (server/demo-routes.ts `DemoSummary`).
 *
 * Counts and `receivedAt` (ms) are JSON numbers. Each document is
 * `docToEjsonObject(doc, 'relaxed')` (server/export-format.ts): relaxed
 * Extended JSON with plain JSON numbers wherever `JSON.stringify` prints
 * the exact relaxed token, and the canonical wrapper otherwise. For a
 * `Reading` (demo/schema.json) that is exactly:
 * - `_id` (objectId): `{"$oid": "<24 hex>"}`;
 * - `seq` (int, an int64): a number, or `{"$numberLong": "<digits>"}` beyond ±2^53;
 * - `temp` (double): a number, or `{"$numberDouble": "…"}` for integral
 *   values (`"22.0"`, `"1e+21"`), `"-0.0"`, `"NaN"`, `"Infinity"`, `"-Infinity"`;
 * - `at` (date): `{"$date": "<ISO 8601>"}` for years 1970–9999, else
 *   `{"$date": {"$numberLong": "<ms>"}}`;
 * - `deviceId` (string): a string.
 * A value in any other shape is not the server's, and reads as missing.
 */

/** The JSON of `GET /api/demo/summary`, as the server sends it. */
export interface DemoSummary {
  /** Every asymmetric type of the server's schema → how many documents it holds. */
  collections: Record<string, number>;
  /** The last ≤10 documents received, newest first; `receivedAt` in ms. */
  recent: { collection: string; receivedAt: number; doc: Record<string, unknown> }[];
}

/** A stored document as the server panel shows it; fields a `Reading` has, missing ones undefined. */
export interface StoredRow {
  /** Unique per stored document (the `_id`). */
  key: string;
  collection: string;
  /** When the server stored it. */
  receivedAt: Date;
  /** The `_id` as hex. */
  id: string;
  deviceId: string | undefined;
  /** The exact digits of the int64 `seq`. */
  seq: string | undefined;
  temp: number | undefined;
  /** When the sensor measured it. */
  at: Date | undefined;
}

/** The string inside a one-key wrapper such as `{"$oid": "…"}`, if `v` is exactly that. */
function wrapped(v: unknown, key: string): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const keys = Object.keys(v);
  const inner = (v as Record<string, unknown>)[key];
  return keys.length === 1 && keys[0] === key && typeof inner === 'string' ? inner : undefined;
}

/** The digits of `{"$numberLong": "<digits>"}`. */
function numberLong(v: unknown): string | undefined {
  const digits = wrapped(v, '$numberLong');
  return digits !== undefined && /^-?\d+$/.test(digits) ? digits : undefined;
}

/** An int64's exact digits: a JSON number where exact, else `{"$numberLong": "…"}`. */
function int64Digits(v: unknown): string | undefined {
  return typeof v === 'number' ? (Number.isSafeInteger(v) ? String(v) : undefined) : numberLong(v);
}

/** A double: a JSON number, or `{"$numberDouble": "…"}`, whose every token `Number()` reads ("1.0", "-0.0", "NaN", "Infinity", "1e+21"). */
function double(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  const text = wrapped(v, '$numberDouble');
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isNaN(n) && text !== 'NaN' ? undefined : n;
}

/** A date: `{"$date": "<ISO 8601>"}`, or `{"$date": {"$numberLong": "<ms>"}}` outside 1970–9999. */
function date(v: unknown): Date | undefined {
  if (v === null || typeof v !== 'object' || Object.keys(v).length !== 1 || !('$date' in v)) return undefined;
  const inner = v.$date;
  const ms = typeof inner === 'string' ? Date.parse(inner) : Number(numberLong(inner) ?? NaN);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/**
 * The rows of a summary's `recent` list, newest first.
 *
 * @param summary - a parsed summary body
 */
export function storedRows(summary: DemoSummary): StoredRow[] {
  return summary.recent.map(({ collection, receivedAt, doc }, i) => {
    const id = wrapped(doc._id, '$oid') ?? '';
    return {
      key: id === '' ? `${collection}:${receivedAt}:${i}` : `${collection}:${id}`,
      collection,
      receivedAt: new Date(receivedAt),
      id,
      deviceId: typeof doc.deviceId === 'string' ? doc.deviceId : undefined,
      seq: int64Digits(doc.seq),
      temp: double(doc.temp),
      at: date(doc.at),
    };
  });
}
