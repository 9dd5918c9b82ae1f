/**
 * The drain, in the manner of workbox's `replayRequests`: take the lock (one
 * drain at a time across every SW version and tab, Web Locks), then loop:
 * upload from the head of the outbox (upload-window.ts: read-ahead, at most
 * two in flight, settled in order), and on a failure do what it calls for
 * (after-failure.ts: stop, shrink, dead-letter, back off), until the outbox
 * is empty or the budget is spent.
 *
 * Retry policy (lib/retry-policy.ts owns it: the options, the backoff, the
 * table of what each answer means): transient failures (network, timeouts,
 * 5xx, 429, a reply that confirms nothing) back off exponentially with full
 * jitter; a `Retry-After` is a floor under that delay, never a replacement.
 * When the next attempt would fall past the drain's budget the drain
 * throws, so a sync event fails and the browser reschedules it.
 */
import { IngestError } from '../core/errors.js';
import { getConfig, healTotals, openOutboxDb, type OutboxDb } from '../lib/outbox-db.js';
import { DRAIN_LOCK, EVENTS_CHANNEL, type DrainVia, type SwEvent } from '../lib/sw-messages.js';
import { afterFailure } from './after-failure.js';
import { UploadFailure } from '../lib/api-requests.js';
import { UploadWindow } from './upload-window.js';

/** What one drain did. */
export interface DrainResult {
  uploaded: number;
  rejected: number;
}

/**
 * Records settled by every drain of this worker since it started. `flush()`
 * reports the difference between its start and its end, so it also counts
 * what a drain already running when it arrived settled meanwhile.
 */
const settledTotals: DrainResult = { uploaded: 0, rejected: 0 };

/** A copy of {@link settledTotals}. */
export function settledSoFar(): DrainResult {
  return { ...settledTotals };
}

/** Adds settled records to a drain's result and to {@link settledTotals}. */
function tally(result: DrainResult, uploaded: number, rejected: number): void {
  result.uploaded += uploaded;
  result.rejected += rejected;
  settledTotals.uploaded += uploaded;
  settledTotals.rejected += rejected;
}

/** Ends the current backoff early; set while a drain sleeps between attempts. */
let wakeSleeper: (() => void) | undefined;

/** A backoff sleep that a new request to drain cuts short (never a `Retry-After` wait: the server asked for it). */
function sleep(ms: number, interruptible: boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      wakeSleeper = undefined;
      resolve();
    }
    if (interruptible) wakeSleeper = done;
  });
}

const events = new BroadcastChannel(EVENTS_CHANNEL);
const announce = (event: SwEvent): void => events.postMessage(event);

/** The loop of one drain, inside the lock: stretches of uploads, and what each failure does. */
async function run(db: OutboxDb, budgetMs: number, via: DrainVia): Promise<DrainResult> {
  const deadline = Date.now() + budgetMs;
  const result: DrainResult = { uploaded: 0, rejected: 0 };
  const config = await getConfig(db);
  if (!config) return result; // no page has opened a client yet: nothing can be queued
  const window = new UploadWindow(db, config, { settled: (u, r) => tally(result, u, r), announce }, via);
  let attempt = 0; // failures in a row
  for (;;) {
    const stretch = await window.stretch();
    if (stretch.succeeded) {
      latestFailure = undefined;
      attempt = 0;
    }
    if (stretch.failure === undefined) {
      if (stretch.paused) throw new IngestError('paused', 'uploads are paused (client.pause()); records stay queued until resume()');
      if (!stretch.readAny) {
        await healTotals(db); // the outbox was empty at the head
        return result;
      }
      continue; // read to the end: look again from the head for records queued meanwhile
    }
    const { batch, error } = stretch.failure;
    if (error instanceof UploadFailure) latestFailure = error;
    const next = await afterFailure({
      db, retry: config.retry, deadline, attempt, announce, rejected: (n) => tally(result, 0, n),
    }, batch, error);
    if (next.next === 'again') {
      if (next.maxRecords !== undefined) window.maxRecords = next.maxRecords;
      continue;
    }
    attempt++;
    await sleep(next.ms, next.interruptible);
  }
}

let queued: Promise<DrainResult> | undefined;

/** The failure of the latest upload attempt, cleared by a success. */
let latestFailure: IngestError | undefined;

/** The failure of the latest upload attempt (cleared by a success): what a caller that gives up waiting reports. */
export function lastUploadFailure(): IngestError | undefined {
  return latestFailure;
}

/**
 * Drains the outbox, retrying transient failures for up to `budgetMs`.
 * Callers that arrive while a drain waits for the lock share that drain.
 *
 * @param urgent - cut a running drain's backoff short (for `flush()`)
 * @param via - what wakes it, announced with each batch it uploads; a caller that joins a waiting drain does not change that drain's `via`
 *
 * @throws {@link IngestError} the last failure when the budget runs out
 */
export function drain(budgetMs: number, urgent: boolean, via: DrainVia): Promise<DrainResult> {
  // flush(): someone waits for it, so retry at once rather than at the end of
  // the backoff. Background wake-ups (every commit, without Background Sync)
  // must not, or a down server would be hit at the rate of ingest().
  if (urgent) wakeSleeper?.();
  queued ??= navigator.locks.request(DRAIN_LOCK, async (): Promise<DrainResult> => {
    queued = undefined;
    return run(await openOutboxDb(), budgetMs, via);
  }) as unknown as Promise<DrainResult>; // lib.dom types request() as Promise<Promise<T>>; it resolves with T
  return queued;
}

/** Rebuilds any failure as an {@link IngestError} for the page. */
export function asIngestError(e: unknown): IngestError {
  if (e instanceof IngestError) return e;
  return new IngestError('server-error', `upload failed: ${String((e as Error)?.message ?? e)}`, { cause: e });
}
