/**
 * The two names the testing kit shares with the service worker. The server
 * package may not import the page package (lib/, sw/), so they are copies of
 * `SYNC_TAG` and the `pending` message type of lib/sw-messages.ts, pinned
 * equal to them by tests/unit/testing-kit-names-match-the-worker.test.ts.
 */

/** The Background Sync tag the service worker drains on (workbox's `workbox-background-sync:<queue>`). */
export const SYNC_TAG = 'workbox-background-sync:sw-ingest';

/** The message the service worker answers with the outbox count, on the port sent with it. */
export const PENDING_MESSAGE_TYPE = 'sw-ingest:pending';
