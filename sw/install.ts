/**
 * Wires sw-ingest into a service worker: the drain wakes on a Background
 * Sync (through workbox's `Queue`), start-up, activation, `online`, and page
 * messages (`drain`, `flush`; `pending` answers the outbox count). Handles
 * no fetches and leaves the worker's lifecycle alone, so it can live inside
 * an app's own service worker.
 */
import { Queue } from 'workbox-background-sync';
import { IngestError } from '../core/errors.js';
import { countPending, getConfig, openOutboxDb } from '../lib/outbox-db.js';
import { DEFAULT_RETRY } from '../lib/retry-policy.js';
import { QUEUE_NAME, type DrainVia, type FlushReply, type PageMessage, type PendingReply } from '../lib/sw-messages.js';
import { asIngestError, drain, lastUploadFailure, settledSoFar } from './drain.js';

declare const self: ServiceWorkerGlobalScope;

/** How long one drain keeps retrying: `retry.syncBudgetMs` of the stored config. */
async function drainBudget(): Promise<number> {
  const config = await getConfig(await openOutboxDb());
  return config?.retry.syncBudgetMs ?? DEFAULT_RETRY.syncBudgetMs;
}

/**
 * A drain for a wake-up with no one waiting on it (start-up, online, page
 * message). `urgent`: the moment is good (network back, page opened), so a
 * drain sleeping in backoff retries at once. `via`: which wake-up this is.
 */
function drainInBackground(via: DrainVia, event?: ExtendableEvent, urgent = false): void {
  const done = drainBudget().then((budget) => drain(budget, urgent, via)).catch(() => undefined); // records stay queued; the next wake-up retries
  event?.waitUntil(done);
}

function onFlush(event: ExtendableMessageEvent, timeoutMs: number): void {
  const port = event.ports[0];
  // The drain may first wait for another one (a sync event's) that holds
  // the lock; when time runs out, report what the uploads last ran into.
  const timedOut = new Promise<FlushReply>((resolve) =>
    setTimeout(() => resolve({
      ok: false,
      error: (lastUploadFailure() ?? new IngestError('timeout', `flush(): the outbox was not empty after ${timeoutMs} ms`)).toJSON(),
    }), timeoutMs),
  );
  const before = settledSoFar();
  const drained = drain(timeoutMs, true, 'flush').then(
    (): FlushReply => {
      const after = settledSoFar();
      return { ok: true, result: { uploaded: after.uploaded - before.uploaded, rejected: after.rejected - before.rejected } };
    },
    (e: unknown): FlushReply => ({ ok: false, error: asIngestError(e).toJSON() }),
  );
  event.waitUntil(Promise.race([drained, timedOut]).then((r) => port?.postMessage(r)));
}

/** Answers a `pending` message on its port with the outbox count (the testing kit's `waitForEmptyOutbox`). */
function onPending(event: ExtendableMessageEvent): void {
  const port = event.ports[0];
  const counted = openOutboxDb().then(countPending).then(
    (pending): PendingReply => ({ ok: true, pending }),
    (e: unknown): PendingReply => ({ ok: false, error: asIngestError(e).toJSON() }),
  );
  event.waitUntil(counted.then((r) => port?.postMessage(r)));
}

let installed = false;

/**
 * Adds sw-ingest's listeners to this service worker (once; later calls do
 * nothing). Called by `sw-ingest-sw.js` and by `import 'sw-ingest/sw'`.
 */
export function installSwIngest(): void {
  if (installed) return;
  installed = true;

  // Workbox wires the sync event: its tag, waitUntil, and, without SyncManager,
  // a call at start-up. Records never enter workbox's own store: onSync drains
  // our outbox. Throwing from onSync fails the sync event so the browser retries.
  new Queue(QUEUE_NAME, {
    onSync: async () => {
      // Without Background Sync, workbox calls onSync once as the worker starts.
      const via: DrainVia = 'sync' in self.registration ? 'sync' : 'startup';
      await drain(await drainBudget(), true, via); // the browser deems the moment good
    },
  });

  // Not inside waitUntil: with the server down, activation would wait for the whole drain budget.
  self.addEventListener('activate', () => drainInBackground('activate'));

  self.addEventListener('message', (event: ExtendableMessageEvent) => {
    const message = event.data as PageMessage | undefined;
    if (message?.type === 'sw-ingest:drain') drainInBackground('message', event, message.urgent === true);
    else if (message?.type === 'sw-ingest:flush') onFlush(event, message.timeoutMs);
    else if (message?.type === 'sw-ingest:pending') onPending(event);
  });

  self.addEventListener('online', () => drainInBackground('online', undefined, true));

  // Start-up: records may have been queued while no worker ran.
  drainInBackground('startup');
}
