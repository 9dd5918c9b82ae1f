/**
 * The contract between page and service worker: the Background Sync tag and
 * the messages the page posts. Shared by `lib/` and `sw/`.
 */
import type { SerializedError } from '../core/errors.js';

/** Name of the workbox-background-sync queue; the sync tag derives from it. */
export const QUEUE_NAME = 'sw-ingest';
/** The Background Sync tag, as workbox's `Queue` names it (`workbox-background-sync:<name>`). */
export const SYNC_TAG = `workbox-background-sync:${QUEUE_NAME}`;
/** The Web Lock that makes the drain single-flight across SW versions and tabs. */
export const DRAIN_LOCK = 'sw-ingest:drain';

/** Page → SW: drain now. `urgent` also cuts a running drain's backoff short. */
export interface DrainMessage {
  type: 'sw-ingest:drain';
  urgent?: boolean;
}

/** Page → SW, with a MessagePort for the {@link FlushReply}: drain until the outbox is empty. */
export interface FlushMessage {
  type: 'sw-ingest:flush';
  timeoutMs: number;
}

/** What `flush()` resolves with: the records settled while it ran (by any drain of the worker). */
export interface FlushResult {
  /** Records the server confirmed stored (or already stored) that left the outbox. */
  uploaded: number;
  /** Records the server refused; they are in `rejected()`. */
  rejected: number;
}

/** SW → page on the flush port. */
export type FlushReply = { ok: true; result: FlushResult } | { ok: false; error: SerializedError };

/**
 * Page → SW, with a MessagePort for the {@link PendingReply}: how many
 * records wait in the outbox. For tests (sw-ingest-server/testing asks it
 * without knowing the IndexedDB layout).
 */
export interface PendingMessage {
  type: 'sw-ingest:pending';
}

/** SW → page on the pending port. */
export type PendingReply = { ok: true; pending: number } | { ok: false; error: SerializedError };

export type PageMessage = DrainMessage | FlushMessage | PendingMessage;

/** BroadcastChannel on which the SW tells every open page what the uploads did. */
export const EVENTS_CHANNEL = 'sw-ingest:events';

/**
 * What started the drain that uploaded a batch: a page's `drain` message,
 * a Background Sync event, the worker starting up (also workbox's replay
 * where there is no Background Sync), the worker's `online` event,
 * `flush()`, or the worker's activation. A drain serves every caller that
 * arrives while it waits for the lock; its `via` is the first one's.
 */
export type DrainVia = 'message' | 'sync' | 'startup' | 'online' | 'flush' | 'activate';

/** SW → pages, on {@link EVENTS_CHANNEL}. */
export type SwEvent =
  | { type: 'uploaded'; count: number; pending: number; via?: DrainVia }
  | { type: 'rejected'; count: number; codes: string[] }
  | { type: 'error'; error: SerializedError };
