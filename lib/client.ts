/**
 * The page-side client: `open()` and the {@link IngestClient} it returns.
 *
 * Rules where promises interleave:
 * - `ingest()` validates and encodes synchronously; bad input rejects and
 *   queues nothing.
 * - Calls made in the same task join one pending write; it is committed in
 *   one IndexedDB transaction from a microtask, and every promise of that
 *   write resolves only after `tx.done` (the commit).
 * - After a commit the SW is woken (a message, and a Background Sync where
 *   there is one); the wake-up never delays or fails the `ingest()` promise.
 * - `flush()` first waits for the write in progress, so records ingested
 *   before `flush()` are part of what it waits for.
 */
import { BSON as BsonCodec, type Document } from 'bson';
import { loginRequest, sameIdentity, toStored, type IngestCredentials } from './credentials.js';
import { IngestError } from '../core/errors.js';
import {
  appendRecords, clearRecords, countPending, getConfig, getSession, listDeadLetters, openOutboxDb, putConfig, putSession,
  readStats, recordFailure, resolveDeadLetters, setPaused, entryLimits, type EntryLimits, type OutboxCaps, type OutboxDb, type OutboxRecord,
} from './outbox-db.js';
import { MAX_DOCUMENT_BYTES, PATHS, endpointUrl, type RecordRejectionCode, type ServerErrorCode } from '../core/protocol.js';
import { mismatchedTypes, schemaFingerprints } from '../core/schema-fingerprint.js';
import { resolveOptions } from './open-options.js';
import { logInFromPage } from './sessions.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';

export { DEFAULT_BATCH_MAX_BYTES, DEFAULT_BATCH_MAX_RECORDS, DEFAULT_MAX_PENDING_BYTES, DEFAULT_MAX_PENDING_RECORDS } from './open-options.js';
import { compileFastEncoder, type FastEncoder } from './fast-encode.js';
import { convertDocument, parseSchema, type ObjectSchema, type ParsedSchema } from '../core/schema.js';
import type { AsymmetricName, ClientSchema, IngestDocument } from './schema-types.js';
import { EVENTS_CHANNEL, SYNC_TAG, type DrainVia, type FlushReply, type FlushResult, type PageMessage, type SwEvent } from './sw-messages.js';

export type { FlushResult };

export { DEFAULT_RETRY };
/**
 * Least time between two wake-ups of the SW caused by writes. A burst of
 * commits (say `await ingest()` in a loop) wakes it at its start and once
 * more at most this long after, instead of once per commit: every wake-up
 * is a message and a sync registration, and makes the SW read IndexedDB,
 * which competes with the page's writes. A running drain loops until the
 * outbox is empty, so it needs no wake-up per commit.
 */
const WRITE_WAKE_INTERVAL_MS = 50;

/** Interval of the page's keep-alive wake-ups while records are pending (below Firefox's 30 s worker idle timeout). */
export const KEEP_ALIVE_MS = 20_000;
/** Default time limit of `flush()`. */
export const DEFAULT_FLUSH_TIMEOUT_MS = 30_000;

/** Options of {@link open}; `S` is the schema's type, which types `ingest()`. */
export interface OpenOptions<S extends readonly ObjectSchema[] = readonly ObjectSchema[]> {
  /** URL of the backend's ingest API, absolute or relative to the page (e.g. `'/api/ingest'`). */
  endpoint: string;
  /** URL of the served `sw-ingest-sw.js` to register, or a registration the app already has. */
  serviceWorker: string | ServiceWorkerRegistration;
  /** Object types in Realm's notation; at least one `asymmetric: true`. Written inline or `as const`, it types `ingest()`. */
  schema: S;
  /**
   * How to log in: `Credentials.anonymous()`, `Credentials.apiKey(key)` or
   * `Credentials.jwt(token)`. Exchanged for a session whose short-lived
   * access tokens the service worker refreshes at send time.
   * @default Credentials.anonymous()
   */
  credentials?: IngestCredentials;
  /** Scope to register the service worker with. @default the script's directory */
  scope?: string;
  /**
   * IndexedDB durability of `ingest()` writes. `'strict'` flushes to disk
   * before the promise resolves, so a resolved record survives a power cut.
   * @default 'strict'
   */
  durability?: 'strict' | 'relaxed';
  /** Largest number of records per upload. @default 2000 (uploads take whole outbox entries of a quarter of this, so may carry a few less) */
  batchMaxRecords?: number;
  /** Largest sum of document bytes per upload (one larger record still goes alone). @default 1048576 */
  batchMaxBytes?: number;
  /**
   * Most records the outbox may hold; `ingest()` beyond it rejects with
   * `outbox-full` and queues nothing (queued records are never dropped).
   * @default 1000000
   */
  maxPendingRecords?: number;
  /** Most document bytes the outbox may hold, as for `maxPendingRecords`. @default 268435456 (256 MiB) */
  maxPendingBytes?: number;
  /** Backoff and time limits of uploads; see {@link DEFAULT_RETRY}. */
  retry?: Partial<RetryPolicy>;
  /**
   * Wake the SW with messages instead of Background Sync even where
   * `SyncManager` exists (what browsers without it do). @default false
   */
  forceSyncFallback?: boolean;
  /**
   * Ask the browser to keep this origin's storage, outbox included, under
   * storage pressure (`navigator.storage.persist()`, where it exists).
   * `open()` does not wait for the answer (Firefox asks the user);
   * `stats().persisted` reports it. It does not stop Safari's 7-day deletion
   * of script-writable storage (ITP); see the README.
   * @default false
   */
  persist?: boolean;
}

/** A record the server refused, as `rejected()` lists it. */
export interface RejectedRecord {
  /** Key for `retryRejected()` / `discardRejected()`. */
  id: number;
  /** The asymmetric type. */
  type: string;
  /** The document as it was queued. */
  doc: Document;
  /**
   * Why: a record verdict code (`RECORD_REJECTION_CODES`, e.g. `wrong-type`),
   * or, when the server refused the whole request, its server error code
   * (e.g. `unknown-collection`). See the README's "Record verdicts". Any
   * other string is a code of a newer server than this library knows.
   */
  code: RecordRejectionCode | ServerErrorCode | (string & {});
  /** The server's message. */
  message: string;
  /** When it was ingested. */
  ingestedAt: Date;
  /** When the server refused it. */
  rejectedAt: Date;
}

/** Options of {@link IngestClient.flush}. */
export interface FlushOptions {
  /** Give up (reject with `timeout`) after this long. @default 30000 */
  timeoutMs?: number;
}

/** Events of {@link IngestClient.on} and what their listeners receive. */
export interface IngestEvents {
  /** Records of this page were committed to the outbox. */
  queued: { count: number };
  /**
   * The server confirmed records (of any tab of this origin) and they left
   * the outbox; `pending` is what is left: a progress figure during long
   * drains. `via` is the wake-up that started the worker's drain that
   * uploaded them: a page's message (`'message'`), Background Sync
   * (`'sync'`), the worker's start-up (`'startup'`), its activation
   * (`'activate'`), its `online` event (`'online'`) or `flush()` (`'flush'`);
   * absent from an older worker.
   */
  uploaded: { count: number; pending: number; via?: DrainVia };
  /** The server refused records; they are in `rejected()`. */
  rejected: { count: number; codes: string[] };
  /** An upload attempt failed; the records stay queued and are retried. */
  error: { error: IngestError };
  /** The browser reports the network back (uploads resume at once). */
  online: Record<string, never>;
  /** The browser reports the network gone (records keep queueing). */
  offline: Record<string, never>;
  /**
   * The server's schema differs from the page's for these asymmetric types
   * (or does not declare them), by the fingerprints of its latest session
   * answer. Records are still queued and judged by the server, which may
   * refuse them. Detected at `open()`; a listener added later still gets it.
   */
  'schema-mismatch': { types: string[] };
}

/** What {@link IngestClient.stats} reports. */
export interface IngestStats {
  /** Records queued and not yet confirmed. */
  pending: number;
  /** Their document bytes (BSON). */
  pendingBytes: number;
  /** Age of the oldest queued record in ms, or null when none is queued. */
  oldestPendingAgeMs: number | null;
  /** Records the server confirmed, since this outbox was created. */
  uploaded: number;
  /** Records the server refused (moved to `rejected()`), since this outbox was created. */
  rejected: number;
  /** The latest upload failure, or null. Not cleared by a later success: compare with `lastUploadAt`. */
  lastError: { code: string; message: string; at: Date } | null;
  /** When the server last confirmed an upload, or null. */
  lastUploadAt: Date | null;
  /** Whether uploads are paused with `pause()`. */
  paused: boolean;
  /** Whether the browser keeps this origin's storage under pressure (`navigator.storage.persisted()`), or null where it cannot say. */
  persisted: boolean | null;
  /** The origin's storage use and quota in bytes (`navigator.storage.estimate()`, all storage, not only the outbox), or null where it cannot say. */
  storage: { usage: number; quota: number } | null;
}

interface PendingWrite {
  records: OutboxRecord[];
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A connection to the device outbox; get one with {@link open}. `S` is the schema's type. */
export class IngestClient<S extends readonly ObjectSchema[] = readonly ObjectSchema[]> {
  private pendingWrite: PendingWrite | undefined;
  private lastWrite: Promise<void> = Promise.resolve();
  private closed = false;
  private lastWriteWakeAt = -Infinity;
  private writeWakeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Map<keyof IngestEvents, Set<(detail: never) => void>>();
  private readonly channel: BroadcastChannel;
  /** The fast encoder of each asymmetric type that has one (see fast-encode.ts). */
  private readonly fastEncoders = new Map<string, FastEncoder>();

  /** @internal use {@link open} */
  constructor(
    private readonly db: OutboxDb,
    private readonly schema: ParsedSchema,
    /** The service worker registration uploads run in. */
    readonly registration: ServiceWorkerRegistration,
    private readonly options: { durability: IDBTransactionDurability; forceSyncFallback: boolean; caps: OutboxCaps; entries: EntryLimits },
  ) {
    // Wake-ups that matter most where there is no Background Sync: the page
    // comes back into view, or the device comes back online.
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this.onVisible);
      addEventListener('online', this.onOnline);
      addEventListener('pagehide', this.onPageHide);
      addEventListener('offline', this.onOffline);
    }
    for (const t of schema.values()) {
      const fast = compileFastEncoder(t);
      if (fast) this.fastEncoders.set(t.name, fast);
    }
    this.channel = new BroadcastChannel(EVENTS_CHANNEL);
    this.channel.onmessage = (e: MessageEvent<SwEvent>) => {
      const event = e.data;
      if (event.type === 'error') {
        const error = IngestError.from(event.error);
        if (error.code === 'endpoint-not-found') this.warnEndpoint(error);
        this.emit('error', { error });
      }
      else if (event.type === 'uploaded') this.emit('uploaded', { count: event.count, pending: event.pending, via: event.via });
      else if (event.type === 'rejected') this.emit('rejected', { count: event.count, codes: event.codes });
    };
  }

  private readonly onVisible = (): void => {
    if (document.visibilityState === 'visible') this.wake(true);
    else this.wakeDueNow(); // the page may not come back: do not leave a write's wake-up in a timer
  };
  private readonly onOnline = (): void => {
    this.emit('online', {});
    this.wake(true);
  };
  private readonly onOffline = (): void => this.emit('offline', {});
  private readonly onPageHide = (): void => this.wakeDueNow();

  /**
   * Listens to an event; returns a function that stops listening.
   *
   * @example
   * ```ts
   * const stop = client.on('rejected', ({ count, codes }) => console.warn(count, 'records refused:', codes));
   * ```
   */
  on<E extends keyof IngestEvents>(event: E, listener: (detail: IngestEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (detail: never) => void);
    const mismatch = this.schemaMismatch;
    if (event === 'schema-mismatch' && mismatch?.emitted) {
      // Found at open(), before the app could listen: tell this listener too.
      queueMicrotask(() => {
        if (set.has(listener as (detail: never) => void)) (listener as (d: IngestEvents['schema-mismatch']) => void)(mismatch.detail);
      });
    }
    return () => set.delete(listener as (detail: never) => void);
  }

  private schemaMismatch: { detail: IngestEvents['schema-mismatch']; emitted: boolean } | undefined;

  /** @internal Announces a schema mismatch found by {@link open}, after open() has returned the client. */
  reportSchemaMismatch(types: string[]): void {
    const mismatch = { detail: { types }, emitted: false };
    this.schemaMismatch = mismatch;
    console.warn(`sw-ingest: the server's schema differs from this page's for ${types.join(', ')}; records are still queued, and the server may refuse them`);
    setTimeout(() => {
      mismatch.emitted = true;
      this.emit('schema-mismatch', mismatch.detail);
    }, 0);
  }

  private endpointWarned = false;

  /** @internal One console warning per client that the endpoint is not an sw-ingest API. */
  warnEndpoint(error: IngestError): void {
    if (this.endpointWarned) return;
    this.endpointWarned = true;
    console.warn(`sw-ingest: ${error.message}`);
  }

  private emit<E extends keyof IngestEvents>(event: E, detail: IngestEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (d: IngestEvents[E]) => void)(detail);
      } catch (e) {
        reportError(e); // a throwing listener must not break delivery of the others
      }
    }
  }

  /**
   * Validates one document (or an array of documents, all or nothing) of the
   * asymmetric type `type` and queues it. Resolves once the record is
   * committed to IndexedDB; from then on it will be delivered.
   *
   * @param type - an asymmetric type of the schema
   * @param doc - the document, or an array of documents; `_id` is generated when absent (objectId and uuid keys)
   * @throws {@link IngestError} `unknown-type`, `unknown-field`, `missing-field`, `wrong-type`, … (nothing is queued)
   * @example
   * ```ts
   * await client.ingest('Reading', { deviceId: 'd1', seq: 1, temp: 21.5, at: new Date() });
   * ```
   */
  ingest<N extends AsymmetricName<S>>(type: N, doc: IngestDocument<S, N> | ReadonlyArray<IngestDocument<S, N>>): Promise<void> {
    if (this.closed) return Promise.reject(new IngestError('closed', `ingest("${type}"): the client is closed`));
    const fast = this.fastEncoders.get(type);
    if (!Array.isArray(doc)) {
      // The common case, kept lean: one document, most often on the fast path.
      let bytes: Uint8Array | undefined;
      try {
        bytes = fast?.(doc) ?? encode(this.schema, type, doc, type);
      } catch (e) {
        return Promise.reject(e);
      }
      const write = this.pendingWrite ?? this.startWrite();
      write.records.push({ c: type, t: Date.now(), d: bytes });
      return write.done;
    }
    let records: OutboxRecord[];
    try {
      const now = Date.now();
      records = (doc as readonly unknown[]).map((d, i) => ({ c: type, t: now, d: fast?.(d) ?? encode(this.schema, type, d, `${type}[${i}]`) }));
    } catch (e) {
      return Promise.reject(e);
    }
    if (records.length === 0) return Promise.resolve();
    const write = this.pendingWrite ?? this.startWrite();
    for (const r of records) write.records.push(r);
    return write.done;
  }

  /** Starts the coalesced write of this task: committed in a microtask, after the caller's synchronous calls. */
  private startWrite(): PendingWrite {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    const write: PendingWrite = { records: [], done, resolve, reject };
    this.pendingWrite = write;
    queueMicrotask(() => this.commit());
    return write;
  }

  private commit(): void {
    const write = this.pendingWrite!;
    this.pendingWrite = undefined;
    const committed = appendRecords(this.db, write.records, this.options.durability, this.options.caps, this.options.entries).then(
      () => {
        write.resolve();
        this.wakeAfterWrite();
        this.emit('queued', { count: write.records.length });
      },
      (e: unknown) => write.reject(e instanceof IngestError ? e : storageError(e, write.records.length)),
    );
    this.lastWrite = committed;
  }

  /**
   * @internal Wakes the service worker. A message drains now while this page
   * is open; the Background Sync registration (where there is one) is the
   * safety net that fires after the tab closed or the network returned.
   * Both are needed: after a failed sync, Chromium holds a re-registered tag
   * until its retry (5, then 15 minutes), so a sync alone would sit idle.
   *
   * @param urgent - also cut a drain's backoff short (page opened, visible, online); a write's wake-up does not, so a down server is not hit at the rate of `ingest()`
   */
  wake(urgent = false): void {
    this.post({ type: 'sw-ingest:drain', urgent });
    const sync = (this.registration as ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }).sync;
    if (sync && !this.options.forceSyncFallback) sync.register(SYNC_TAG).catch(() => undefined); // the message covers it
    this.keepWorkerAlive();
  }

  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * While records are pending and this page is open, a non-urgent wake-up
   * every {@link KEEP_ALIVE_MS}. Browsers end an idle worker (Firefox: 30 s
   * after its last event, 30 s more while a waitUntil is pending), and with
   * it a drain backing off from a down server; where no Background Sync
   * wakes it again, this does. Never cuts a backoff short; stops when the
   * outbox is empty.
   */
  private keepWorkerAlive(): void {
    if (this.keepAliveTimer !== undefined || this.closed) return;
    this.keepAliveTimer = setInterval(() => {
      void countPending(this.db).then((n) => {
        if (n === 0 || this.closed) {
          clearInterval(this.keepAliveTimer);
          this.keepAliveTimer = undefined;
        } else {
          this.post({ type: 'sw-ingest:drain', urgent: false });
        }
      }, () => undefined);
    }, KEEP_ALIVE_MS);
  }

  /** The wake-up after a commit, at most one per {@link WRITE_WAKE_INTERVAL_MS}; a later one is deferred, never dropped. */
  private wakeAfterWrite(): void {
    if (this.writeWakeTimer !== undefined) return; // a wake-up is due; it covers this commit
    const wait = this.lastWriteWakeAt + WRITE_WAKE_INTERVAL_MS - performance.now();
    if (wait <= 0) this.wakeForWrites();
    else this.writeWakeTimer = setTimeout(this.wakeForWrites, wait);
  }

  private readonly wakeForWrites = (): void => {
    clearTimeout(this.writeWakeTimer);
    this.writeWakeTimer = undefined;
    this.lastWriteWakeAt = performance.now();
    this.wake();
  };

  /** Sends a deferred write wake-up now (the page is being hidden or closed). */
  private wakeDueNow(): void {
    if (this.writeWakeTimer !== undefined) this.wakeForWrites();
  }

  private post(message: PageMessage, transfer: Transferable[] = []): boolean {
    const worker = this.registration.active;
    if (!worker) return false;
    worker.postMessage(message, transfer);
    return true;
  }

  /** Number of records queued on this device and not yet confirmed by the server (dead letters excluded). */
  async pending(): Promise<number> {
    await this.settled();
    return countPending(this.db);
  }

  /**
   * Asks the service worker to upload now, and resolves when the outbox is
   * empty, with what was settled meanwhile: `uploaded` records the server
   * confirmed and `rejected` ones it refused (those are in `rejected()`).
   *
   * @throws {@link IngestError} `endpoint-not-found`, `network-error`, `server-error`, `auth-failed`, `rate-limited`, `timeout`, …
   * @example
   * ```ts
   * const { uploaded, rejected } = await client.flush({ timeoutMs: 10_000 });
   * if (rejected > 0) console.warn(await client.rejected());
   * ```
   */
  async flush(options: FlushOptions = {}): Promise<FlushResult> {
    if (this.closed) throw new IngestError('closed', 'flush(): the client is closed');
    await this.settled();
    const timeoutMs = options.timeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
    const channel = new MessageChannel();
    const reply = new Promise<FlushReply>((resolve) => {
      const timer = setTimeout(
        () => resolve({ ok: false, error: { code: 'timeout', message: `flush(): the outbox was not empty after ${timeoutMs} ms` } }),
        timeoutMs + 2_000, // the SW enforces timeoutMs itself; this covers a SW that died
      );
      channel.port1.onmessage = (e: MessageEvent<FlushReply>) => {
        clearTimeout(timer);
        resolve(e.data);
      };
    });
    const worker = this.registration.active ?? (await waitForActive(this.registration));
    worker.postMessage({ type: 'sw-ingest:flush', timeoutMs } satisfies PageMessage, [channel.port2]);
    const result = await reply;
    channel.port1.close();
    if (!result.ok) {
      const error = IngestError.from(result.error);
      if (error.code === 'endpoint-not-found') this.warnEndpoint(error);
      throw error;
    }
    return result.result;
  }

  /**
   * Where the outbox stands: pending records and bytes, the oldest one's
   * age, delivery totals, the last error and the last successful upload;
   * and whether the browser keeps the origin's storage, and how full it is.
   *
   * @example
   * ```ts
   * const { pending, oldestPendingAgeMs, lastError } = await client.stats();
   * ```
   */
  async stats(): Promise<IngestStats> {
    await this.settled();
    const [{ totals, stats, oldestPendingAt, paused }, persisted, storage] = await Promise.all([readStats(this.db), persistedNow(), storageEstimate()]);
    return {
      pending: totals.records,
      pendingBytes: totals.bytes,
      oldestPendingAgeMs: oldestPendingAt === null ? null : Math.max(0, Date.now() - oldestPendingAt),
      uploaded: stats.uploaded,
      rejected: stats.rejected,
      lastError: stats.lastError && { ...stats.lastError, at: new Date(stats.lastError.at) },
      lastUploadAt: stats.lastUploadAt === null ? null : new Date(stats.lastUploadAt),
      paused,
      persisted,
      storage,
    };
  }

  /**
   * Stops uploads from this origin (every tab, and the SW with no page open)
   * until {@link IngestClient.resume}; `ingest()` keeps queueing. An upload
   * already on the wire completes.
   */
  async pause(): Promise<void> {
    await setPaused(this.db, true);
  }

  /** Lets uploads run again and wakes the service worker. */
  async resume(): Promise<void> {
    await setPaused(this.db, false);
    this.wake(true);
  }

  /** Records the server refused, oldest first, with the reason. */
  async rejected(): Promise<RejectedRecord[]> {
    const letters = await listDeadLetters(this.db);
    return letters.map(({ key, value }) => ({
      id: key,
      type: value.c,
      doc: BsonCodec.deserialize(value.d),
      code: value.code,
      message: value.message,
      ingestedAt: new Date(value.t),
      rejectedAt: new Date(value.at),
    }));
  }

  /** Moves rejected records (all, or those with the given ids) back into the outbox and wakes the SW. Resolves with how many. */
  async retryRejected(ids?: readonly number[]): Promise<number> {
    const n = await resolveDeadLetters(this.db, ids, 'retry');
    if (n > 0) this.wake(true);
    return n;
  }

  /** Deletes rejected records (all, or those with the given ids) for good. Resolves with how many. */
  discardRejected(ids?: readonly number[]): Promise<number> {
    return resolveDeadLetters(this.db, ids, 'discard');
  }

  /**
   * Logs the user out: uploads what is queued (up to `timeoutMs`), revokes
   * the session on the server, and stops all uploads from this outbox until
   * `open()` logs in again. Closes the client.
   *
   * Records that could not be uploaded belong to the user who ingested them,
   * so they are never sent under the next user's session: `logOut()`
   * rejects with `pending-records` and stays logged in, unless
   * `discardPending: true` deletes them (and the dead letters).
   *
   * @throws {@link IngestError} `pending-records`
   * @example
   * ```ts
   * try { await client.logOut(); } catch (e) { if (e.code === 'pending-records') showRetryLater(); }
   * ```
   */
  async logOut(options: { discardPending?: boolean; timeoutMs?: number } = {}): Promise<void> {
    await this.settled();
    let flushError: unknown;
    try {
      await this.flush({ timeoutMs: options.timeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS });
    } catch (e) {
      flushError = e;
    }
    const left = await countPending(this.db);
    if (left > 0) {
      if (!options.discardPending) {
        throw new IngestError('pending-records', `logOut(): ${left} record(s) are not uploaded yet; still logged in. flush() later, or logOut({ discardPending: true }) to delete them`, { cause: flushError });
      }
      await clearRecords(this.db);
    }
    const config = await getConfig(this.db);
    const session = await getSession(this.db);
    if (config) await putConfig(this.db, { ...config, credentials: { type: 'none' } });
    await putSession(this.db, undefined);
    if (config && session) {
      await fetch(endpointUrl(config.endpoint, PATHS.logout), {
        method: 'POST', headers: { Authorization: `Bearer ${session.refreshToken}` }, signal: AbortSignal.timeout(config.retry.requestTimeoutMs),
      }).catch(() => undefined); // offline: the refresh token is gone from the device; it expires on the server
    }
    await this.close();
  }

  /**
   * Stops accepting `ingest()` calls. Queued records stay queued and are
   * still uploaded by the service worker.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    this.channel.close();
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this.onVisible);
      removeEventListener('online', this.onOnline);
      removeEventListener('pagehide', this.onPageHide);
      removeEventListener('offline', this.onOffline);
    }
    await this.settled();
    this.wakeDueNow();
  }

  /** Waits for writes already started in this client. */
  private async settled(): Promise<void> {
    if (this.pendingWrite) await this.pendingWrite.done.catch(() => undefined);
    await this.lastWrite.catch(() => undefined);
  }
}

/** `navigator.storage` where the browser has it (absent in insecure contexts, and in WebKitGTK unless turned on). */
function storageManager(): Partial<StorageManager> | undefined {
  return (navigator as Partial<Navigator>).storage;
}

/** `navigator.storage.persisted()`, or null where it is missing or fails. */
async function persistedNow(): Promise<boolean | null> {
  const storage = storageManager();
  if (typeof storage?.persisted !== 'function') return null;
  return storage.persisted().then((p) => p === true, () => null);
}

/** `navigator.storage.estimate()` as `{usage, quota}`, or null where it is missing, fails or leaves either out. */
async function storageEstimate(): Promise<{ usage: number; quota: number } | null> {
  const storage = storageManager();
  if (typeof storage?.estimate !== 'function') return null;
  const estimate = await storage.estimate().catch(() => undefined);
  return typeof estimate?.usage === 'number' && typeof estimate.quota === 'number' ? { usage: estimate.usage, quota: estimate.quota } : null;
}

function encode(schema: ParsedSchema, type: string, doc: unknown, path: string): Uint8Array {
  const converted = convertDocument(schema, type, doc, 'page', path);
  let bytes: Uint8Array;
  try {
    bytes = BsonCodec.serialize(converted);
  } catch (e) {
    if (BsonCodec.calculateObjectSize(converted) > MAX_DOCUMENT_BYTES) bytes = new Uint8Array(MAX_DOCUMENT_BYTES + 1);
    else throw new IngestError('wrong-type', `${path}: the document cannot be encoded as BSON (${String(e)})`, { path, cause: e });
  }
  if (bytes.byteLength > MAX_DOCUMENT_BYTES) {
    throw new IngestError('document-too-large', `${path}: the document is larger than 16 MiB as BSON`, { path });
  }
  return bytes;
}

function storageError(e: unknown, count: number): IngestError {
  const name = (e as { name?: string } | null)?.name ?? 'Error';
  if (name === 'QuotaExceededError') {
    return new IngestError('quota-exceeded', `ingest(): ${count} record(s) not queued: the browser's storage quota for this origin is exhausted`, { cause: e });
  }
  return new IngestError('storage-failed', `ingest(): ${count} record(s) not queued: ${name}: ${String((e as Error)?.message ?? e)}`, { cause: e });
}

function waitForActive(registration: ServiceWorkerRegistration, timeoutMs = 30_000): Promise<ServiceWorker> {
  return new Promise((resolve, reject) => {
    if (registration.active) return resolve(registration.active);
    const timer = setTimeout(
      () => reject(new IngestError('service-worker-failed', `the service worker did not activate within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const worker = registration.installing ?? registration.waiting;
    const check = (): void => {
      if (registration.active) {
        clearTimeout(timer);
        resolve(registration.active);
      } else if (worker?.state === 'redundant') {
        clearTimeout(timer);
        reject(new IngestError('service-worker-failed', 'the service worker failed to install'));
      }
    };
    worker?.addEventListener('statechange', check);
    registration.addEventListener('updatefound', () => registration.installing?.addEventListener('statechange', check));
  });
}

/**
 * Opens the device outbox: checks the schema, stores what the service
 * worker needs to upload with no page open (endpoint, session, batch
 * settings), registers the service worker and, with no credentials stored
 * yet, logs in anonymously. Works offline: then the SW logs in before its
 * first upload.
 *
 * @param options - see {@link OpenOptions}
 * @throws {@link IngestError} `invalid-option` (nothing is written), `invalid-schema`, `not-supported`, `service-worker-failed`, `auth-failed`
 * @example
 * ```ts
 * const client = await open({
 *   endpoint: '/api/ingest',
 *   serviceWorker: '/sw-ingest-sw.js',
 *   schema: [{ name: 'Reading', asymmetric: true, primaryKey: '_id',
 *              properties: { _id: 'objectId', deviceId: 'string', seq: 'int', temp: 'double', at: 'date' } }],
 * });
 * ```
 */
export async function open<const S extends readonly ObjectSchema[]>(options: OpenOptions<S>): Promise<IngestClient<ClientSchema<S>>> {
  if (options === null || typeof options !== 'object') throw new IngestError('invalid-option', 'open(): expected an options object');
  if (typeof indexedDB === 'undefined') throw new IngestError('not-supported', 'open(): this browser has no IndexedDB (private mode?)');
  if (!('serviceWorker' in navigator)) {
    throw new IngestError('not-supported', 'open(): this page cannot use service workers (it must be served over https or from localhost)');
  }
  const resolved = resolveOptions(options, location.href);
  const schema = parseSchema(options.schema);
  if (resolved.persist) {
    // Not awaited: Firefox may ask the user, and open() must not wait on a prompt. stats().persisted shows the answer.
    const storage = storageManager();
    if (typeof storage?.persist === 'function') storage.persist().catch(() => undefined);
  }
  const { endpoint, retry, batchMaxRecords, batchMaxBytes } = resolved;
  const credentials = options.credentials ?? { type: 'anonymous' };
  if (!loginRequest(credentials) || (credentials.type !== 'anonymous' && !('key' in credentials ? credentials.key : credentials.token))) {
    throw new IngestError('invalid-option', 'open(): "credentials" must come from Credentials.anonymous(), .apiKey(key) or .jwt(token)');
  }

  let db: OutboxDb;
  try {
    db = await openOutboxDb();
  } catch (e) {
    throw new IngestError('storage-failed', `open(): IndexedDB could not be opened: ${String(e)}`, { cause: e });
  }
  const stored = toStored(credentials);
  const previous = await getConfig(db);
  // Another user (or a logged-out outbox): the old session must not upload for this one.
  const sameUser = sameIdentity(previous?.credentials ?? (previous ? { type: 'anonymous' } : undefined), stored);
  await putConfig(db, {
    credentials: stored,
    endpoint,
    clientId: previous?.clientId ?? crypto.randomUUID(),
    batchMaxRecords,
    batchMaxBytes,
    retry,
  });
  if (!previous || previous.endpoint !== endpoint || !sameUser) await putSession(db, undefined);

  let registration: ServiceWorkerRegistration;
  try {
    registration = typeof options.serviceWorker === 'string'
      ? await navigator.serviceWorker.register(options.serviceWorker, options.scope ? { scope: options.scope } : undefined)
      : options.serviceWorker;
  } catch (e) {
    throw new IngestError('service-worker-failed', `open(): could not register ${String(options.serviceWorker)}: ${String(e)}`, { cause: e });
  }
  await waitForActive(registration);

  // A JWT is exchanged at every open (the page has a fresh one now); other credentials when there is no session.
  const pageFingerprints = await schemaFingerprints(schema);
  const storedSession = await getSession(db);
  let serverFingerprints = storedSession?.schema; // as of the latest login or refresh (absent in older outboxes)
  let endpointProblem: IngestError | undefined;
  if (credentials.type === 'jwt' || !storedSession) {
    const outcome = await logInFromPage(endpoint, credentials, retry.requestTimeoutMs);
    if (outcome instanceof IngestError) {
      endpointProblem = outcome;
      await recordFailure(db, outcome);
    } else if (outcome) {
      await putSession(db, outcome);
      serverFingerprints = outcome.schema;
    }
  }

  const client = new IngestClient<ClientSchema<S>>(db, schema, registration, {
    durability: resolved.durability,
    forceSyncFallback: resolved.forceSyncFallback,
    entries: entryLimits(batchMaxRecords, batchMaxBytes),
    caps: {
      maxPendingRecords: resolved.maxPendingRecords,
      maxPendingBytes: resolved.maxPendingBytes,
    },
  });
  if (endpointProblem) client.warnEndpoint(endpointProblem);
  const mismatched = serverFingerprints === undefined ? [] : mismatchedTypes(pageFingerprints, serverFingerprints);
  if (mismatched.length > 0) client.reportSchemaMismatch(mismatched);
  // Records left by an earlier visit go out now, not at the next sync.
  client.wake(true);
  return client;
}
