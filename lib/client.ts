/**
 * The page-side client: the {@link IngestClient} that `open()` (open.ts)
 * returns, a facade over the write coalescer (write-coalescer.ts), the
 * wake-up scheduler (wake-scheduler.ts), the outbox (outbox-db.ts) and the
 * worker's events. Its public types are in client-types.ts. About 430
 * lines: the public methods, each with the TSDoc that is the API's
 * reference; what they delegate to lives in those files.
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
import { BSON as BsonCodec } from 'bson';
import { IngestError } from '../core/errors.js';
import { MAX_DOCUMENT_BYTES, PATHS, endpointUrl } from '../core/protocol.js';
import { convertDocument, type ObjectSchema, type ParsedSchema } from '../core/schema.js';
import type { FlushOptions, IngestEvents, IngestStats, RejectedRecord } from './client-types.js';
import { compileFastEncoder, type FastEncoder } from './fast-encode.js';
import {
  clearRecords, countPending, getConfig, getSession, listDeadLetters, putConfig, putSession, readStats, resolveDeadLetters, setPaused,
  type OutboxDb, type OutboxRecord,
} from './outbox-db.js';
import { DEFAULT_RETRY } from './retry-policy.js';
import type { AsymmetricName, IngestDocument } from './schema-types.js';
import { persistedNow, storageEstimate } from './storage.js';
import { EVENTS_CHANNEL, type FlushReply, type FlushResult, type PageMessage, type SwEvent } from './sw-messages.js';
import { WakeScheduler } from './wake-scheduler.js';
import { WriteCoalescer, type WriteSettings } from './write-coalescer.js';

export { DEFAULT_BATCH_MAX_BYTES, DEFAULT_BATCH_MAX_RECORDS, DEFAULT_MAX_PENDING_BYTES, DEFAULT_MAX_PENDING_RECORDS } from './open-options.js';
export type { FlushResult };

export { DEFAULT_RETRY };
export { KEEP_ALIVE_MS } from './wake-scheduler.js';
/** Default time limit of `flush()`. */
export const DEFAULT_FLUSH_TIMEOUT_MS = 30_000;

export type { FlushOptions, IngestEvents, IngestStats, OpenOptions, RejectedRecord } from './client-types.js';


/** A connection to the device outbox; get one with {@link open}. `S` is the schema's type. */
export class IngestClient<S extends readonly ObjectSchema[] = readonly ObjectSchema[]> {
  private closed = false;
  /** Joins the `ingest()` calls of a task into one committed write. */
  private readonly writes: WriteCoalescer;
  /** Wakes the service worker. */
  private readonly wakes: WakeScheduler;
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
    options: WriteSettings & { forceSyncFallback: boolean },
  ) {
    this.wakes = new WakeScheduler(registration, db, !options.forceSyncFallback);
    this.writes = new WriteCoalescer(db, options, (count) => {
      this.wakes.afterWrite();
      this.emit('queued', { count });
    });
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
    else this.wakes.dueNow(); // the page may not come back: do not leave a write's wake-up in a timer
  };
  private readonly onOnline = (): void => {
    this.emit('online', {});
    this.wake(true);
  };
  private readonly onOffline = (): void => this.emit('offline', {});
  private readonly onPageHide = (): void => this.wakes.dueNow();

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
      const write = this.writes.current();
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
    const write = this.writes.current();
    for (const r of records) write.records.push(r);
    return write.done;
  }

  /**
   * @internal Wakes the service worker (see wake-scheduler.ts).
   *
   * @param urgent - also cut a drain's backoff short (page opened, visible, online)
   */
  wake(urgent = false): void {
    this.wakes.wake(urgent);
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
    this.wakes.stop();
    this.channel.close();
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this.onVisible);
      removeEventListener('online', this.onOnline);
      removeEventListener('pagehide', this.onPageHide);
      removeEventListener('offline', this.onOffline);
    }
    await this.settled();
    this.wakes.dueNow();
  }

  /** Waits for writes already started in this client. */
  private async settled(): Promise<void> {
    await this.writes.settled();
  }
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

/** Resolves with the registration's active worker once it activates; rejects when it fails to install or takes longer than `timeoutMs`. */
export function waitForActive(registration: ServiceWorkerRegistration, timeoutMs = 30_000): Promise<ServiceWorker> {
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
