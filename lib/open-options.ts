/**
 * The options of `open()` checked and completed with their defaults, in one
 * place, before `open()` touches IndexedDB or registers anything: a bad
 * option rejects with `invalid-option` naming it, and nothing is written.
 * (The `OpenOptions` interface, with each option's TSDoc, is in client.ts.)
 */
import { IngestError } from '../core/errors.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';

/** Default records per upload. */
export const DEFAULT_BATCH_MAX_RECORDS = 2_000;
/** Default document bytes per upload. */
export const DEFAULT_BATCH_MAX_BYTES = 1024 * 1024;
/** Default cap on records in the outbox. */
export const DEFAULT_MAX_PENDING_RECORDS = 1_000_000;
/** Default cap on document bytes in the outbox: 256 MiB. */
export const DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024;

/** What `open()` works with once its options are checked. */
export interface ResolvedOptions {
  /** The ingest API's absolute URL, without a trailing slash. */
  endpoint: string;
  retry: RetryPolicy;
  batchMaxRecords: number;
  batchMaxBytes: number;
  maxPendingRecords: number;
  maxPendingBytes: number;
  durability: 'strict' | 'relaxed';
  forceSyncFallback: boolean;
  persist: boolean;
}

/** The options {@link resolveOptions} reads (a subset of `OpenOptions`). */
export interface CheckedOptions {
  endpoint?: unknown;
  serviceWorker?: unknown;
  retry?: unknown;
  batchMaxRecords?: unknown;
  batchMaxBytes?: unknown;
  maxPendingRecords?: unknown;
  maxPendingBytes?: unknown;
  durability?: unknown;
  forceSyncFallback?: unknown;
  persist?: unknown;
  scope?: unknown;
}

function invalid(message: string): IngestError {
  return new IngestError('invalid-option', `open(): ${message}`);
}

function positive(name: string, v: unknown, fallback: number, integer = false): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw invalid(`"${name}" must be a positive ${integer ? 'whole ' : ''}number, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  }
  return v;
}

function flag(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(`"${name}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Checks every option `open()` takes besides the schema (which
 * `parseSchema` checks) and the credentials (checked where they are
 * read), and fills in the defaults.
 *
 * @param options - what the app passed to `open()`
 * @param base - the URL relative endpoints resolve against (the page's)
 * @throws {@link IngestError} `invalid-option`, naming the option
 * @example
 * ```ts
 * resolveOptions({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', batchMaxRecords: 0 }, location.href);
 * // IngestError invalid-option: open(): "batchMaxRecords" must be a positive whole number, got 0
 * ```
 */
export function resolveOptions(options: CheckedOptions, base: string): ResolvedOptions {
  if (typeof options.endpoint !== 'string' || options.endpoint === '') {
    throw invalid('"endpoint" must be the URL of the ingest API, e.g. "/api/ingest"');
  }
  let endpoint: string;
  try {
    endpoint = new URL(options.endpoint, base).href.replace(/\/+$/, '');
  } catch {
    throw invalid(`"endpoint" ${JSON.stringify(options.endpoint)} is not a URL`);
  }
  const sw = options.serviceWorker;
  if (!(typeof sw === 'string' && sw !== '') && !(sw !== null && typeof sw === 'object' && 'active' in sw)) {
    throw invalid('"serviceWorker" must be the URL of the served sw-ingest-sw.js (e.g. "/sw-ingest-sw.js") or a ServiceWorkerRegistration');
  }
  if (options.scope !== undefined && typeof options.scope !== 'string') throw invalid('"scope" must be a string');
  if (options.retry !== undefined && (options.retry === null || typeof options.retry !== 'object')) {
    throw invalid('"retry" must be an object such as { baseMs: 1000 }');
  }
  const retryIn = (options.retry ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(retryIn)) {
    if (!(key in DEFAULT_RETRY)) throw invalid(`"retry.${key}" is not an option; retry takes ${Object.keys(DEFAULT_RETRY).join(', ')}`);
  }
  const retry = {} as RetryPolicy;
  for (const key of Object.keys(DEFAULT_RETRY) as Array<keyof RetryPolicy>) retry[key] = positive(`retry.${key}`, retryIn[key], DEFAULT_RETRY[key]);
  const durability = options.durability ?? 'strict';
  if (durability !== 'strict' && durability !== 'relaxed') throw invalid(`"durability" must be "strict" or "relaxed", got ${JSON.stringify(durability)}`);
  return {
    endpoint,
    retry,
    batchMaxRecords: positive('batchMaxRecords', options.batchMaxRecords, DEFAULT_BATCH_MAX_RECORDS, true),
    batchMaxBytes: positive('batchMaxBytes', options.batchMaxBytes, DEFAULT_BATCH_MAX_BYTES, true),
    maxPendingRecords: positive('maxPendingRecords', options.maxPendingRecords, DEFAULT_MAX_PENDING_RECORDS, true),
    maxPendingBytes: positive('maxPendingBytes', options.maxPendingBytes, DEFAULT_MAX_PENDING_BYTES, true),
    durability,
    forceSyncFallback: flag('forceSyncFallback', options.forceSyncFallback),
    persist: flag('persist', options.persist),
  };
}
