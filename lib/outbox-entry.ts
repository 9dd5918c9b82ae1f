/**
 * The codec of outbox entries: how the records of one write are packed into
 * one IndexedDB value and read back, and how settled keys collapse into key
 * ranges. Pure functions, no IndexedDB: `outbox-db.ts` (the only owner of
 * the database layout) stores what these produce, and
 * tests/unit/outbox-entry.test.ts checks them without a browser.
 */
import { IngestError } from '../core/errors.js';

/** One queued record. */
export interface OutboxRecord {
  /** Collection (asymmetric type name). */
  c: string;
  /** Ingest time, ms since the epoch. */
  t: number;
  /** The document as BSON. */
  d: Uint8Array;
}

/**
 * One entry of the `outbox` store: the records of one write (or part of
 * one), in order. `n` absent means one record, and then `c`, `t` and `d`
 * are that record's (the layout of versions 1 and 2).
 */
export interface OutboxEntry {
  /** Collection of every record, or of each. */
  c: string | string[];
  /** Ingest time of every record, or of each (ms since the epoch). */
  t: number | number[];
  /** The documents' BSON, one after the other (each begins with its length). */
  d: Uint8Array;
  /** Number of records; absent: 1. */
  n?: number;
}

/** Limits of one outbox entry, derived from the batch limits (a quarter of each). */
export interface EntryLimits {
  maxRecords: number;
  maxBytes: number;
}

/** The entry limits for batches of `batchMaxRecords` and `batchMaxBytes`: whole entries fill a batch in about four. */
export function entryLimits(batchMaxRecords: number, batchMaxBytes: number): EntryLimits {
  return { maxRecords: Math.max(1, Math.floor(batchMaxRecords / 4)), maxBytes: Math.max(1, Math.floor(batchMaxBytes / 4)) };
}

/** Packs records (at least one) into one entry; a single record is stored as it is. */
export function packEntry(records: readonly OutboxRecord[]): OutboxEntry {
  if (records.length === 1) {
    const r = records[0]!;
    // A view into a larger buffer would be cloned with all of that buffer.
    return { c: r.c, t: r.t, d: r.d.byteLength === r.d.buffer.byteLength ? r.d : r.d.slice() };
  }
  let bytes = 0;
  let sameC = true;
  for (const r of records) {
    bytes += r.d.byteLength;
    if (r.c !== records[0]!.c) sameC = false;
  }
  const d = new Uint8Array(bytes);
  const t = new Array<number>(records.length);
  let pos = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    d.set(r.d, pos);
    pos += r.d.byteLength;
    t[i] = r.t;
  }
  return { c: sameC ? records[0]!.c : records.map((r) => r.c), t, d, n: records.length };
}

/** The records of an entry, their documents as views into `entry.d`. */
export function unpackEntry(entry: OutboxEntry): OutboxRecord[] {
  const n = entry.n ?? 1;
  const c = (i: number): string => (typeof entry.c === 'string' ? entry.c : entry.c[i]!);
  const t = (i: number): number => (typeof entry.t === 'number' ? entry.t : entry.t[i]!);
  if (n === 1) return [{ c: c(0), t: t(0), d: entry.d }];
  const out = new Array<OutboxRecord>(n);
  const view = new DataView(entry.d.buffer, entry.d.byteOffset, entry.d.byteLength);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const len = pos + 4 <= entry.d.byteLength ? view.getInt32(pos, true) : -1;
    if (len < 5 || pos + len > entry.d.byteLength) {
      throw new IngestError('storage-failed', `outbox entry damaged: record ${i} of ${n} has no valid length at byte ${pos}`);
    }
    out[i] = { c: c(i), t: t(i), d: entry.d.subarray(pos, pos + len) };
    pos += len;
  }
  return out;
}

/** Collapses sorted keys into inclusive ranges of consecutive integers: [1,2,3,7] → [[1,3],[7,7]]. */
export function toRanges(sortedKeys: readonly number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const k of sortedKeys) {
    const last = ranges[ranges.length - 1];
    if (last && k === last[1] + 1) last[1] = k;
    else ranges.push([k, k]);
  }
  return ranges;
}
