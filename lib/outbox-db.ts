/**
 * The IndexedDB layout: the only module that knows the database name, its
 * version, its stores and their upgrades. Page and service worker both reach
 * IndexedDB through these functions, each of which keeps one transaction
 * inside itself and awaits nothing but IndexedDB there.
 *
 * Layout (version 1):
 * - `outbox`: auto-increment keys (monotonic, so confirmed records are
 *   deleted as key ranges) → {@link OutboxRecord}.
 * - `deadletters`: auto-increment keys → {@link DeadLetter}; records the
 *   server rejected, kept until the page retries or discards them.
 * - `meta`: `'config'` → {@link StoredConfig}, `'session'` → {@link Session},
 *   `'totals'` → {@link Totals} (version 2: kept in step with the outbox in
 *   the same transactions, so caps and stats need no scan), `'stats'` →
 *   {@link DeliveryStats}, `'paused'` → boolean (no version change: `meta`
 *   is a key-value store and absent keys read as their defaults).
 *
 * Upgrades: 1 → 2 adds `'totals'`, computed from the records already queued.
 */
import { openDB, unwrap, type DBSchema, type IDBPDatabase } from 'idb';
import { IngestError } from './errors.js';
import type { StoredCredentials } from './credentials.js';
import type { Session } from './protocol.js';

export const DB_NAME = 'sw-ingest';
export const DB_VERSION = 2;

/** Empties the outbox and the dead-letter store (`logOut({ discardPending: true })`). Resolves with how many records went. */
export async function clearRecords(db: OutboxDb): Promise<number> {
  const tx = db.transaction(['outbox', 'deadletters', 'meta'], 'readwrite', { durability: 'strict' });
  const n = (await tx.objectStore('outbox').count()) + (await tx.objectStore('deadletters').count());
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

/** One queued record. */
export interface OutboxRecord {
  /** Collection (asymmetric type name). */
  c: string;
  /** Ingest time, ms since the epoch. */
  t: number;
  /** The document as BSON. */
  d: Uint8Array;
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

/** Backoff inside one drain. */
export interface RetryPolicy {
  /** First backoff delay. */
  baseMs: number;
  /** Largest backoff delay. */
  maxMs: number;
  /** How long one drain started by a sync event keeps retrying before it gives up. */
  syncBudgetMs: number;
  /** Per-request time limit. */
  requestTimeoutMs: number;
}

interface IngestDB extends DBSchema {
  outbox: { key: number; value: OutboxRecord };
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

/** Records added per slice of a large write; the main thread is free between slices. */
const APPEND_SLICE_RECORDS = 1_000;

/**
 * Appends records in one transaction, unless they would take the outbox
 * past `caps` (then nothing is written and it throws `outbox-full`).
 * Resolves after the commit.
 *
 * The hot path of `ingest()`, so:
 * - the totals are read while the records are added, not before: the adds
 *   do not wait for that round trip, and an over-cap write aborts them all;
 * - records are added with plain requests (no promise per record), in
 *   slices of {@link APPEND_SLICE_RECORDS}; each slice is issued from the
 *   success callback of the previous slice's *first* request, which keeps
 *   the transaction active, leaves no long task on the page, and keeps the
 *   database busy with the rest of that slice while the page serializes the
 *   next one;
 * - the transaction is committed explicitly once all is issued, rather than
 *   after the success of every request has come back to the page.
 */
export async function appendRecords(
  db: OutboxDb, records: readonly OutboxRecord[], durability: IDBTransactionDurability, caps: OutboxCaps,
): Promise<void> {
  const tx = db.transaction(['outbox', 'meta'], 'readwrite', { durability });
  const done = tx.done;
  done.catch(() => undefined); // awaited below; this keeps an early throw from leaving it unhandled
  const meta = tx.objectStore('meta');
  const totalsRead = meta.get('totals') as Promise<Totals | undefined>;
  const outbox = unwrap(tx.objectStore('outbox'));
  let bytes = 0;
  let next = 0;
  const allIssued = new Promise<void>((resolve, reject) => {
    // An abort (quota, a failed request) ends the wait however far the slices got.
    done.catch(reject);
    const issueSlice = (): void => {
      try {
        const end = Math.min(records.length, next + APPEND_SLICE_RECORDS);
        const first = next;
        for (; next < end; next++) {
          const r = records[next]!;
          bytes += r.d.byteLength;
          const request = outbox.add(r);
          if (next === first && end < records.length) request.onsuccess = issueSlice;
        }
        if (end === records.length) resolve();
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

/** Number of records waiting for confirmation. */
export function countPending(db: OutboxDb): Promise<number> {
  return db.count('outbox');
}

/** A batch read from the head of the outbox. */
export interface Batch {
  keys: number[];
  records: OutboxRecord[];
  bytes: number;
}

/** Records of the first `getAll` of {@link readBatch}; each further one reads four times as many. */
const READ_FIRST_CHUNK_RECORDS = 128;

/**
 * Reads the oldest records (those after key `after`, when given), up to
 * `maxRecords` and `maxBytes` of documents (but always at least one, so an
 * oversized record cannot block the queue). Reads with `getAll` in growing
 * chunks rather than with a cursor: a round trip per chunk, not per record,
 * and never much more than the batch in memory.
 */
export async function readBatch(db: OutboxDb, maxRecords: number, maxBytes: number, after?: number): Promise<Batch> {
  const batch: Batch = { keys: [], records: [], bytes: 0 };
  const tx = db.transaction('outbox', 'readonly');
  let lower = after;
  let chunk = READ_FIRST_CHUNK_RECORDS;
  for (let full = false; !full;) {
    const range = lower === undefined ? null : IDBKeyRange.lowerBound(lower, true);
    const want = Math.min(chunk, maxRecords - batch.keys.length);
    const [keys, values] = await Promise.all([tx.store.getAllKeys(range, want), tx.store.getAll(range, want)]);
    for (let i = 0; i < keys.length && !full; i++) {
      const size = values[i]!.d.byteLength;
      if (batch.keys.length > 0 && batch.bytes + size > maxBytes) full = true;
      else {
        batch.keys.push(keys[i]!);
        batch.records.push(values[i]!);
        batch.bytes += size;
      }
    }
    if (keys.length < want || batch.keys.length >= maxRecords) full = true;
    lower = keys[keys.length - 1];
    chunk *= 4;
  }
  await tx.done;
  return batch;
}

/** Collapses sorted keys into inclusive ranges: [1,2,3,7] → [[1,3],[7,7]]. */
export function toRanges(sortedKeys: readonly number[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const k of sortedKeys) {
    const last = ranges[ranges.length - 1];
    if (last && k === last[1] + 1) last[1] = k;
    else ranges.push([k, k]);
  }
  return ranges;
}

/**
 * Settles an uploaded batch in one transaction: deletes the confirmed keys
 * (as ranges) and moves the rejected ones to the dead-letter store.
 */
export async function settleBatch(
  db: OutboxDb,
  confirmed: ReadonlyArray<{ key: number; record: OutboxRecord }>,
  rejected: ReadonlyArray<{ key: number; record: OutboxRecord; code: string; message: string }>,
): Promise<Totals> {
  const tx = db.transaction(['outbox', 'deadletters', 'meta'], 'readwrite', { durability: 'strict' });
  const outbox = tx.objectStore('outbox');
  const dead = tx.objectStore('deadletters');
  const meta = tx.objectStore('meta');
  const totals = { ...((await meta.get('totals')) as Totals | undefined ?? ZERO) };
  for (const [lo, hi] of toRanges(confirmed.map((c) => c.key))) void outbox.delete(IDBKeyRange.bound(lo, hi));
  const at = Date.now();
  for (const r of rejected) {
    void dead.add({ ...r.record, code: r.code, message: r.message, at });
    void outbox.delete(r.key);
  }
  for (const { record } of [...confirmed, ...rejected]) {
    totals.records--;
    totals.bytes -= record.d.byteLength;
  }
  const left = { records: Math.max(0, totals.records), bytes: Math.max(0, totals.bytes) };
  void meta.put(left, 'totals');
  const stats = { ...((await meta.get('stats')) as DeliveryStats | undefined ?? NO_STATS) };
  stats.uploaded += confirmed.length;
  stats.rejected += rejected.length;
  if (confirmed.length > 0) stats.lastUploadAt = at;
  void meta.put(stats, 'stats');
  await tx.done;
  return left;
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
  const result = { totals: totals ?? { ...ZERO }, stats: stats ?? { ...NO_STATS }, oldestPendingAt: oldest?.value.t ?? null, paused: paused === true };
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
