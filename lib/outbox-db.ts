/**
 * Longer than most modules (~450 lines) on purpose: every transaction on
 * the layout is here, so that no other file knows a store or a key.
 *
 * The IndexedDB layout: the only module that knows the database name, its
 * version, its stores and their upgrades. Page and service worker both reach
 * IndexedDB through these functions, each of which keeps one transaction
 * inside itself and awaits nothing but IndexedDB there.
 *
 * Layout (version 3):
 * - `outbox`: auto-increment keys (monotonic, so confirmed records are
 *   deleted as key ranges) → {@link OutboxEntry}: the records of one write,
 *   up to a quarter of a batch per entry, their documents concatenated.
 *   IndexedDB's cost is per entry rather than per byte, so this is what
 *   lets `ingest()` and the drain go faster than a record per entry
 *   (docs/benchmarks.md). An entry of one record is `{c, t, d}`, the shape
 *   of every entry in versions 1 and 2.
 * - `deadletters`: auto-increment keys → {@link DeadLetter}; records the
 *   server rejected, kept until the page retries or discards them.
 * - `meta`: `'config'` → {@link StoredConfig}, `'session'` → {@link Session},
 *   `'totals'` → {@link Totals} (version 2: kept in step with the outbox in
 *   the same transactions, so caps and stats need no scan), `'stats'` →
 *   {@link DeliveryStats}, `'paused'` → boolean (no version change: `meta`
 *   is a key-value store and absent keys read as their defaults).
 *
 * Upgrades: 1 → 2 adds `'totals'`, computed from the records already queued.
 * 2 → 3 changes no data (a version-2 record is a one-record entry); the
 * version is raised so that a version-2 SW or page, which would read a
 * many-record entry as one document, cannot open the database.
 */
import { openDB, unwrap, type DBSchema, type IDBPDatabase } from 'idb';
import { IngestError } from '../core/errors.js';
import type { RetryPolicy } from './retry-policy.js';
import { packEntry, toRanges, unpackEntry, type EntryLimits, type OutboxEntry, type OutboxRecord } from './outbox-entry.js';

export { entryLimits, packEntry, toRanges, unpackEntry } from './outbox-entry.js';
export type { EntryLimits, OutboxEntry, OutboxRecord } from './outbox-entry.js';
import type { StoredCredentials } from './credentials.js';
import type { Session } from '../core/protocol.js';

export const DB_NAME = 'sw-ingest';
export const DB_VERSION = 3;

/** Empties the outbox and the dead-letter store (`logOut({ discardPending: true })`). Resolves with how many records went. */
export async function clearRecords(db: OutboxDb): Promise<number> {
  const tx = db.transaction(['outbox', 'deadletters', 'meta'], 'readwrite', { durability: 'strict' });
  const totals = (await tx.objectStore('meta').get('totals')) as Totals | undefined;
  const n = (totals?.records ?? 0) + (await tx.objectStore('deadletters').count());
  void tx.objectStore('outbox').clear();
  void tx.objectStore('deadletters').clear();
  void tx.objectStore('meta').put({ records: 0, bytes: 0 }, 'totals');
  await tx.done;
  return n;
}

/** Records and document bytes in the outbox. */
export interface Totals {
  records: number;
  bytes: number;
}

/** What the SW has delivered, kept in `meta` for `client.stats()`. */
export interface DeliveryStats {
  uploaded: number;
  rejected: number;
  /** ms since the epoch of the last upload the server confirmed. */
  lastUploadAt: number | null;
  lastError: { code: string; message: string; at: number } | null;
}

const NO_STATS: DeliveryStats = { uploaded: 0, rejected: 0, lastUploadAt: null, lastError: null };

/** Limits on what the outbox may hold; `ingest()` beyond them rejects with `outbox-full`. */
export interface OutboxCaps {
  maxPendingRecords: number;
  maxPendingBytes: number;
}

/** A record the server refused, with its reason. */
export interface DeadLetter extends OutboxRecord {
  code: string;
  message: string;
  /** When it was dead-lettered, ms since the epoch. */
  at: number;
}

/** What the service worker needs to upload with no page open. */
export interface StoredConfig {
  /** Absolute URL of the ingest API. */
  endpoint: string;
  /** Random id of this outbox, sent with every upload. */
  clientId: string;
  batchMaxRecords: number;
  batchMaxBytes: number;
  retry: RetryPolicy;
  /** How the SW logs in again; absent in outboxes written before credentials existed (= anonymous). */
  credentials?: StoredCredentials;
}

interface IngestDB extends DBSchema {
  outbox: { key: number; value: OutboxEntry };
  deadletters: { key: number; value: DeadLetter };
  meta: { key: 'config' | 'session' | 'totals' | 'stats' | 'paused'; value: StoredConfig | Session | Totals | DeliveryStats | boolean };
}

export type OutboxDb = IDBPDatabase<IngestDB>;

let dbPromise: Promise<OutboxDb> | undefined;

/** Opens (once per realm) the sw-ingest database, creating or upgrading it. */
export function openOutboxDb(): Promise<OutboxDb> {
  dbPromise ??= openDB<IngestDB>(DB_NAME, DB_VERSION, {
    async upgrade(db, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        db.createObjectStore('outbox', { autoIncrement: true });
        db.createObjectStore('deadletters', { autoIncrement: true });
        db.createObjectStore('meta');
      }
      if (oldVersion < 2) {
        // Count what an older version queued; every record stays where it is.
        const totals: Totals = { records: 0, bytes: 0 };
        for (let c = await tx.objectStore('outbox').openCursor(); c; c = await c.continue()) {
          totals.records++;
          totals.bytes += c.value.d.byteLength;
        }
        await tx.objectStore('meta').put(totals, 'totals');
      }
      // 2 → 3: nothing to move (see the layout above).
    },
    // A newer version (an updated SW or page) wants to upgrade: step aside;
    // the next call opens the new version.
    blocking(_current, _blocked, event) {
      (event.target as IDBDatabase).close();
      dbPromise = undefined;
    },
    terminated() {
      dbPromise = undefined;
    },
  }).catch((e: unknown) => {
    dbPromise = undefined;
    throw e;
  });
  return dbPromise;
}

const ZERO: Totals = { records: 0, bytes: 0 };

/** Entries added per slice of a large write; the main thread is free between slices. */
const APPEND_SLICE_ENTRIES = 16;

/**
 * Appends records in one transaction, packed into entries of at most
 * `limits` (see {@link OutboxEntry}), unless they would take the outbox
 * past `caps` (then nothing is written and it throws `outbox-full`).
 * Resolves after the commit.
 *
 * The hot path of `ingest()`, so:
 * - the totals are read while the records are added, not before: the adds
 *   do not wait for that round trip, and an over-cap write aborts them all;
 * - entries are added with plain requests (no promise per entry), in
 *   slices of {@link APPEND_SLICE_ENTRIES}; each slice is packed and issued
 *   from the success callback of the previous slice's first request, which
 *   keeps the transaction active, leaves no long task on the page, and
 *   keeps the database busy while the page packs the next slice;
 * - the transaction is committed explicitly once all is issued, rather than
 *   after the success of every request has come back to the page.
 */
export async function appendRecords(
  db: OutboxDb, records: readonly OutboxRecord[], durability: IDBTransactionDurability, caps: OutboxCaps, limits: EntryLimits,
): Promise<void> {
  const tx = db.transaction(['outbox', 'meta'], 'readwrite', { durability });
  const done = tx.done;
  done.catch(() => undefined); // awaited below; this keeps an early throw from leaving it unhandled
  const meta = tx.objectStore('meta');
  const totalsRead = meta.get('totals') as Promise<Totals | undefined>;
  const outbox = unwrap(tx.objectStore('outbox'));
  let bytes = 0;
  let next = 0;
  /** The next entry's records: up to the limits, and at least one. */
  const takeEntry = (): OutboxRecord[] => {
    const from = next;
    let entryBytes = 0;
    while (next < records.length && next - from < limits.maxRecords) {
      const size = records[next]!.d.byteLength;
      if (next > from && entryBytes + size > limits.maxBytes) break;
      entryBytes += size;
      next++;
    }
    bytes += entryBytes;
    return records.slice(from, next) as OutboxRecord[];
  };
  const allIssued = new Promise<void>((resolve, reject) => {
    // An abort (quota, a failed request) ends the wait however far the slices got.
    done.catch(reject);
    const issueSlice = (): void => {
      try {
        for (let k = 0; k < APPEND_SLICE_ENTRIES && next < records.length; k++) {
          const request = outbox.add(packEntry(takeEntry()));
          if (k === 0) request.onsuccess = () => (next < records.length ? issueSlice() : undefined);
        }
        if (next === records.length) resolve();
      } catch (e) {
        // Nothing of a write that failed half-way may commit.
        try { tx.abort(); } catch { /* already ended */ }
        reject(e);
      }
    };
    issueSlice();
  });
  await allIssued;
  const totals = (await totalsRead) ?? ZERO;
  if (totals.records + records.length > caps.maxPendingRecords || totals.bytes + bytes > caps.maxPendingBytes) {
    tx.abort();
    throw new IngestError(
      'outbox-full',
      `ingest(): ${records.length} record(s) (${bytes} bytes) would exceed the outbox cap of ` +
        `${caps.maxPendingRecords} records / ${caps.maxPendingBytes} bytes (now ${totals.records} / ${totals.bytes}); nothing was queued`,
    );
  }
  void meta.put({ records: totals.records + records.length, bytes: totals.bytes + bytes }, 'totals');
  unwrap(tx).commit?.();
  await done;
}

/** Records and bytes waiting, as kept by the transactions that change the outbox. */
export async function getTotals(db: OutboxDb): Promise<Totals> {
  return ((await db.get('meta', 'totals')) as Totals | undefined) ?? { ...ZERO };
}

/** Resets the totals when the outbox is empty, healing any drift (e.g. from an older version's writes). */
export async function healTotals(db: OutboxDb): Promise<void> {
  const tx = db.transaction(['outbox', 'meta'], 'readwrite');
  if ((await tx.objectStore('outbox').count()) === 0) void tx.objectStore('meta').put({ ...ZERO }, 'totals');
  await tx.done;
}

/** Number of records waiting for confirmation (from the totals: entries hold several). */
export async function countPending(db: OutboxDb): Promise<number> {
  return (await getTotals(db)).records;
}

/** A batch read from the head of the outbox: whole entries, and their records in order. */
export interface Batch {
  /** The entries, each with the index of its first record in `records`. */
  entries: Array<{ key: number; value: OutboxEntry; first: number; n: number }>;
  /** The records of all entries, in order (documents are views into the entries). */
  records: OutboxRecord[];
  /** Document bytes. */
  bytes: number;
}

/** Entries of the first `getAll` of {@link readBatch}; each further one reads four times as many. */
const READ_FIRST_CHUNK_ENTRIES = 4;

/**
 * Reads the oldest entries (those after key `after`, when given), whole,
 * up to `maxRecords` records and `maxBytes` of documents (but always at
 * least one entry, so an oversized one cannot block the queue). Reads with
 * `getAll` in growing chunks rather than with a cursor: a round trip per
 * chunk, not per entry, and never much more than the batch in memory.
 */
export async function readBatch(db: OutboxDb, maxRecords: number, maxBytes: number, after?: number): Promise<Batch> {
  const batch: Batch = { entries: [], records: [], bytes: 0 };
  const tx = db.transaction('outbox', 'readonly');
  let lower = after;
  let chunk = READ_FIRST_CHUNK_ENTRIES;
  for (let full = false; !full;) {
    const range = lower === undefined ? null : IDBKeyRange.lowerBound(lower, true);
    const want = Math.max(1, Math.min(chunk, maxRecords - batch.records.length));
    const [keys, values] = await Promise.all([tx.store.getAllKeys(range, want), tx.store.getAll(range, want)]);
    for (let i = 0; i < keys.length && !full; i++) {
      const value = values[i]!;
      const n = value.n ?? 1;
      const size = value.d.byteLength;
      if (batch.entries.length > 0 && (batch.records.length + n > maxRecords || batch.bytes + size > maxBytes)) {
        full = true;
        break;
      }
      batch.entries.push({ key: keys[i]!, value, first: batch.records.length, n });
      for (const r of unpackEntry(value)) batch.records.push(r);
      batch.bytes += size;
    }
    if (keys.length < want || batch.records.length >= maxRecords) full = true;
    lower = keys[keys.length - 1];
    chunk *= 4;
  }
  await tx.done;
  return batch;
}

/** A record of a batch that the server refused, by its index in `batch.records`. */
export interface Refusal {
  index: number;
  /** A record verdict code, or the whole request's server code when the server refused the batch. */
  code: string;
  message: string;
}

/**
 * Settles an uploaded batch in one transaction: deletes the entries whose
 * records are all confirmed or rejected (as key ranges), writes back the
 * records of an entry that are neither (a reply that left some unproven),
 * and moves the rejected records to the dead-letter store.
 *
 * With `relaxed` durability: a settle lost to a power cut only means that
 * its records are uploaded again, and the server answers `duplicate`
 * (idempotent by primary key), so flushing every settle to disk would buy
 * nothing but time. Nothing is lost either way: a record leaves the outbox
 * only in the same transaction that counts it uploaded or dead-letters it.
 *
 * @param confirmed - indexes in `batch.records` of the records the server stored (or had)
 */
export async function settleBatch(db: OutboxDb, batch: Batch, confirmed: readonly number[], rejected: readonly Refusal[]): Promise<Totals> {
  const tx = db.transaction(['outbox', 'deadletters', 'meta'], 'readwrite', { durability: 'relaxed' });
  const outbox = tx.objectStore('outbox');
  const dead = tx.objectStore('deadletters');
  const meta = tx.objectStore('meta');
  const statsRead = meta.get('stats') as Promise<DeliveryStats | undefined>;
  const totalsRead = meta.get('totals') as Promise<Totals | undefined>;
  const settled = new Uint8Array(batch.records.length);
  for (const i of confirmed) settled[i] = 1;
  for (const r of rejected) settled[r.index] = 1;
  const gone: number[] = [];
  let records = 0;
  let bytes = 0;
  for (const e of batch.entries) {
    const left: OutboxRecord[] = [];
    for (let i = e.first; i < e.first + e.n; i++) {
      const r = batch.records[i]!;
      if (settled[i]) {
        records++;
        bytes += r.d.byteLength;
      } else {
        left.push(r);
      }
    }
    if (left.length === 0) gone.push(e.key);
    else if (left.length < e.n) void outbox.put(packEntry(left), e.key);
  }
  for (const [lo, hi] of toRanges(gone)) void outbox.delete(lo === hi ? lo : IDBKeyRange.bound(lo, hi));
  const at = Date.now();
  for (const r of rejected) {
    const record = batch.records[r.index]!;
    // A copy: the view shares its buffer with the whole entry.
    void dead.add({ c: record.c, t: record.t, d: record.d.slice(), code: r.code, message: r.message, at });
  }
  const totals = (await totalsRead) ?? ZERO;
  const left = { records: Math.max(0, totals.records - records), bytes: Math.max(0, totals.bytes - bytes) };
  void meta.put(left, 'totals');
  const stats = { ...((await statsRead) ?? NO_STATS) };
  stats.uploaded += confirmed.length;
  stats.rejected += rejected.length;
  if (confirmed.length > 0) stats.lastUploadAt = at;
  void meta.put(stats, 'stats');
  await tx.done;
  return left;
}

/**
 * Splits an entry of several records into one entry per record, in place
 * and in order (keys `key + i/n`, all below the next entry's key), so that
 * a server that refuses the entry as too large can be sent smaller batches.
 */
export async function splitEntry(db: OutboxDb, entry: { key: number; value: OutboxEntry }): Promise<void> {
  const records = unpackEntry(entry.value);
  if (records.length < 2) return;
  const tx = db.transaction('outbox', 'readwrite', { durability: 'strict' });
  records.forEach((r, i) => void tx.store.put(packEntry([r]), entry.key + i / records.length));
  await tx.done;
}

/** Records an upload failure for `client.stats()`. */
export async function recordFailure(db: OutboxDb, error: { code: string; message: string }): Promise<void> {
  const tx = db.transaction('meta', 'readwrite');
  const stats = { ...((await tx.store.get('stats')) as DeliveryStats | undefined ?? NO_STATS) };
  stats.lastError = { code: error.code, message: error.message, at: Date.now() };
  void tx.store.put(stats, 'stats');
  await tx.done;
}

/** Everything `client.stats()` reports, read in one transaction. */
export async function readStats(db: OutboxDb): Promise<{ totals: Totals; stats: DeliveryStats; oldestPendingAt: number | null; paused: boolean }> {
  const tx = db.transaction(['outbox', 'meta'], 'readonly');
  const meta = tx.objectStore('meta');
  const [totals, stats, oldest, paused] = await Promise.all([
    meta.get('totals') as Promise<Totals | undefined>,
    meta.get('stats') as Promise<DeliveryStats | undefined>,
    tx.objectStore('outbox').openCursor(),
    meta.get('paused') as Promise<boolean | undefined>,
  ]);
  const t = oldest?.value.t;
  const oldestPendingAt = t === undefined ? null : typeof t === 'number' ? t : t[0] ?? null;
  const result = { totals: totals ?? { ...ZERO }, stats: stats ?? { ...NO_STATS }, oldestPendingAt, paused: paused === true };
  await tx.done;
  return result;
}

/** Whether uploads are paused (`client.pause()`). */
export async function isPaused(db: OutboxDb): Promise<boolean> {
  return (await db.get('meta', 'paused')) === true;
}

export async function setPaused(db: OutboxDb, paused: boolean): Promise<void> {
  await db.put('meta', paused, 'paused');
}

/** All dead letters with their keys, oldest first. */
export async function listDeadLetters(db: OutboxDb): Promise<Array<{ key: number; value: DeadLetter }>> {
  const tx = db.transaction('deadletters', 'readonly');
  const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()]);
  await tx.done;
  return keys.map((key, i) => ({ key, value: values[i]! }));
}

/** Moves dead letters back into the outbox (retry) or deletes them (discard); `undefined` keys means all. */
export async function resolveDeadLetters(db: OutboxDb, keys: readonly number[] | undefined, action: 'retry' | 'discard'): Promise<number> {
  const tx = db.transaction(['outbox', 'deadletters', 'meta'], 'readwrite', { durability: 'strict' });
  const dead = tx.objectStore('deadletters');
  const outbox = tx.objectStore('outbox');
  const meta = tx.objectStore('meta');
  const totals = { ...((await meta.get('totals')) as Totals | undefined ?? ZERO) };
  const chosen = keys ?? (await dead.getAllKeys());
  let n = 0;
  for (const key of chosen) {
    const letter = await dead.get(key);
    if (!letter) continue;
    if (action === 'retry') {
      void outbox.add({ c: letter.c, t: letter.t, d: letter.d });
      totals.records++;
      totals.bytes += letter.d.byteLength;
    }
    void dead.delete(key);
    n++;
  }
  void meta.put(totals, 'totals');
  await tx.done;
  return n;
}

export async function getConfig(db: OutboxDb): Promise<StoredConfig | undefined> {
  return (await db.get('meta', 'config')) as StoredConfig | undefined;
}

export async function putConfig(db: OutboxDb, config: StoredConfig): Promise<void> {
  await db.put('meta', config, 'config');
}

export async function getSession(db: OutboxDb): Promise<Session | undefined> {
  return (await db.get('meta', 'session')) as Session | undefined;
}

export async function putSession(db: OutboxDb, session: Session | undefined): Promise<void> {
  if (session) await db.put('meta', session, 'session');
  else await db.delete('meta', 'session');
}
