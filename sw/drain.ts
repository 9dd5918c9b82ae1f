/**
 * The drain loop, in the manner of workbox's `replayRequests`: read a batch
 * from the head of the outbox, upload it, settle it (delete what the server
 * confirmed, dead-letter what it rejected), repeat until the outbox is
 * empty. One drain at a time across every SW version and tab (Web Locks).
 *
 * Retry policy (lib/retry-policy.ts owns it: the options, the backoff, the
 * table of what each answer means): transient failures (network, timeouts,
 * 5xx, 429, a reply that confirms nothing) back off exponentially with full
 * jitter; a `Retry-After` is a floor under that delay, never a replacement.
 * When the next attempt would fall past the drain's budget the drain
 * throws, so a sync event fails and the browser reschedules it.
 */
import { IngestError } from '../core/errors.js';
import {
  getConfig, healTotals, isPaused, openOutboxDb, readBatch, recordFailure, settleBatch, splitEntry, type Batch, type OutboxDb,
  type Refusal,
} from '../lib/outbox-db.js';
import type { RecordResult } from '../core/protocol.js';
import { DRAIN_LOCK, EVENTS_CHANNEL, type DrainVia, type SwEvent } from '../lib/sw-messages.js';
import { retryDelayMs, withinBudget } from '../lib/retry-policy.js';
import { freshSession, UploadFailure, uploadBatch } from './upload.js';

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

/** Splits a batch by verdict: confirmed records, rejected ones, and how many the reply left unproven (by index in `batch.records`). */
function verdicts(results: Array<RecordResult | undefined>) {
  const confirmed: number[] = [];
  const rejected: Refusal[] = [];
  let unproven = 0;
  for (const [index, r] of results.entries()) {
    if (r === undefined) unproven++; // stays queued: nothing proves it stored
    else if (r.s === 'rejected') rejected.push({ index, code: r.code, message: r.message });
    else confirmed.push(index);
  }
  return { confirmed, rejected, unproven };
}

/** Dead-letters what a whole-request refusal condemns: the named collection's records, or the whole batch. */
function condemned(batch: Batch, failure: UploadFailure): Refusal[] {
  const code = failure.details.serverCode ?? failure.code;
  return batch.records.flatMap((record, index) =>
    failure.details.collection === undefined || record.c === failure.details.collection
      ? [{ index, code, message: failure.message }]
      : [],
  );
}

/**
 * Most uploads in flight at once. The next batch is read, encoded and sent
 * while the server works on the one before, and the previous one is settled
 * meanwhile: the worker's IndexedDB work and the server's insert overlap.
 */
const UPLOADS_IN_FLIGHT = 2;
/**
 * Uploads that must succeed in a row before a second one goes out beside
 * the first. A drain starts with one at a time, and any failure goes back
 * to one at a time: a struggling server gets no parallel requests, and a
 * retry goes out before anything newer.
 */
const SUCCESSES_BEFORE_PIPELINING = 2;
/** Renew the session this long before uploadBatch() itself would (it does a minute before expiry). */
const SESSION_CHECK_MARGIN_MS = 90_000;

/** A batch on the wire and its coming verdict. */
interface Sent {
  batch: Batch;
  reply: Promise<Array<RecordResult | undefined>>;
}

async function run(db: OutboxDb, budgetMs: number, via: DrainVia): Promise<DrainResult> {
  const deadline = Date.now() + budgetMs;
  const result: DrainResult = { uploaded: 0, rejected: 0 };
  const config = await getConfig(db);
  if (!config) return result; // no page has opened a client yet: nothing can be queued
  let maxRecords = config.batchMaxRecords;
  let attempt = 0;
  let successes = 0; // in a row
  let sessionGoodUntil = 0; // until then, uploadBatch() will find the stored session fresh
  for (;;) {
    // One stretch: batches read one after the other (each after the last key
    // of the one before), up to UPLOADS_IN_FLIGHT on the wire, settled in
    // order. It ends when the outbox is read to its end, uploads are paused,
    // or an upload fails; the next stretch reads from the head again.
    const inFlight: Sent[] = [];
    let after: number | undefined;
    let more = true;
    let paused = false;
    let failure: { batch: Batch; error: unknown } | undefined;
    /** The next batch, read while the uploads before it are on the wire. */
    let readAhead: Promise<Batch | undefined> | undefined;
    const read = async (): Promise<Batch | undefined> => {
      if (await isPaused(db)) {
        paused = true;
        return undefined;
      }
      const batch = await readBatch(db, maxRecords, config.batchMaxBytes, after);
      if (batch.entries.length === 0) return undefined;
      after = batch.entries[batch.entries.length - 1]!.key;
      return batch;
    };
    const send = async (): Promise<void> => {
      const batch = await (readAhead ?? read());
      readAhead = undefined;
      if (!batch) {
        more = false;
        return;
      }
      // One login or refresh at a time: with a session stored that is good
      // for another minute, uploads in flight do not each renew it.
      try {
        if (Date.now() > sessionGoodUntil) sessionGoodUntil = (await freshSession(db, config)).accessTokenExpiresAt - SESSION_CHECK_MARGIN_MS;
      } catch (e) {
        failure ??= { batch, error: e }; // as if the upload had failed: it would have, getting its session
        successes = 0;
        return;
      }
      const reply = uploadBatch(db, config, batch);
      reply.catch(() => undefined); // awaited, in order, below
      inFlight.push({ batch, reply });
      // Read the next batch while this one is on the wire, so that it can
      // be sent the moment a slot frees up.
      readAhead = read();
      readAhead.catch(() => undefined); // awaited by the next send(), or at the end of the stretch
    };
    do {
      const window = successes >= SUCCESSES_BEFORE_PIPELINING ? UPLOADS_IN_FLIGHT : 1;
      while (more && failure === undefined && inFlight.length < window) await send();
      const sent = inFlight.shift();
      if (!sent) break;
      try {
        const replies = await sent.reply;
        // The next upload goes on the wire before this one is settled.
        if (more && failure === undefined && inFlight.length < window) await send();
        const { confirmed, rejected, unproven } = verdicts(replies);
        const left = await settleBatch(db, sent.batch, confirmed, rejected);
        tally(result, confirmed.length, rejected.length);
        if (confirmed.length > 0) announce({ type: 'uploaded', count: confirmed.length, pending: left.records, via });
        if (rejected.length > 0) announce({ type: 'rejected', count: rejected.length, codes: [...new Set(rejected.map((r) => r.code))] });
        if (unproven > 0) {
          throw new UploadFailure('bad-response', `the reply left ${unproven} of ${sent.batch.records.length} records unconfirmed; they stay queued`, 'retry');
        }
        if (failure === undefined) {
          successes++;
          lastFailure = undefined;
          attempt = 0;
          maxRecords = Math.min(config.batchMaxRecords, maxRecords * 2);
        }
      } catch (e) {
        // The first failure decides what happens next. Batches sent after it
        // are still settled if they were confirmed (keys are explicit); what
        // failed stays queued and is read again from the head.
        failure ??= { batch: sent.batch, error: e };
        successes = 0;
      }
    } while (inFlight.length > 0 || (more && failure === undefined));
    // A batch read ahead but not sent is read again by the next stretch.
    await readAhead?.catch(() => undefined);

    if (failure === undefined) {
      if (paused) throw new IngestError('paused', 'uploads are paused (client.pause()); records stay queued until resume()');
      if (after === undefined) {
        await healTotals(db); // the outbox was empty at the head
        return result;
      }
      continue; // read to the end: look again from the head for records queued meanwhile
    }
    const { batch, error: e } = failure;
    if (!(e instanceof UploadFailure)) throw e;
    lastFailure = e;
    announce({ type: 'error', error: e.toJSON() });
    await recordFailure(db, e);
    if (e.action === 'stop') throw e; // every record stays queued; the next wake-up tries again
    if (e.action === 'shrink' && batch.records.length > 1) {
      // Too large for the server: halve the batch; an entry of several
      // records is split first, as batches are made of whole entries.
      if (batch.entries.length === 1) await splitEntry(db, batch.entries[0]!);
      maxRecords = Math.max(1, Math.floor(batch.records.length / 2));
      continue;
    }
    if (e.action === 'reject-batch' || e.action === 'shrink') {
      const rejected = condemned(batch, e);
      await settleBatch(db, batch, [], rejected);
      tally(result, 0, rejected.length);
      announce({ type: 'rejected', count: rejected.length, codes: [rejected[0]!.code] });
      continue;
    }
    // The server's Retry-After is a floor under the backoff (retry-policy.ts):
    // "Retry-After: 0" answered again and again must not become a tight loop.
    const serverAsked = e.details.retryAfterMs !== undefined;
    const delay = retryDelayMs(attempt++, config.retry, e.details.retryAfterMs);
    if (!withinBudget(deadline, delay)) throw e;
    await sleep(delay, !serverAsked);
  }
}

let queued: Promise<DrainResult> | undefined;

/** The failure of the latest upload attempt, cleared by a success: what a caller that gives up waiting reports. */
export let lastFailure: IngestError | undefined;

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
