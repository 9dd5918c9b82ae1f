/**
 * The public types of a client: what `open()` takes, what events carry, what
 * `stats()` and `rejected()` report. Types only, so that client.ts reads as
 * the client's behaviour and this file as its documented contract.
 */
import type { Document } from 'bson';
import type { IngestError } from '../core/errors.js';
import type { RecordRejectionCode, ServerErrorCode } from '../core/protocol.js';
import type { ObjectSchema } from '../core/schema.js';
import type { IngestCredentials } from './credentials.js';
import type { RetryPolicy } from './retry-policy.js';
import type { DrainVia } from './sw-messages.js';

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
