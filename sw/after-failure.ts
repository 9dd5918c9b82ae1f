/**
 * What a failed upload does to the drain, by the action the retry policy
 * gave it (lib/retry-policy.ts `failureFor`): end the drain with every
 * record kept (`stop`), halve the batch (`shrink`), dead-letter what the
 * server refused for good (`reject-batch`), or back off and try again
 * (`retry`) while the drain's budget allows. Records are never deleted on
 * failure; only a refusal by the server dead-letters them.
 */
import { recordFailure, settleBatch, splitEntry, type Batch, type OutboxDb, type Refusal } from '../lib/outbox-db.js';
import { retryDelayMs, withinBudget, type RetryPolicy } from '../lib/retry-policy.js';
import type { SwEvent } from '../lib/sw-messages.js';
import { UploadFailure } from '../lib/api-requests.js';

/** What the drain does next. */
export type AfterFailure =
  /** Read again from the head now, with batches of at most `maxRecords` when given. */
  | { next: 'again'; maxRecords?: number }
  /** Wait `ms` first; `interruptible` unless the server asked for the wait (`Retry-After`). */
  | { next: 'wait'; ms: number; interruptible: boolean };

/** What {@link afterFailure} needs of the drain. */
export interface FailureContext {
  db: OutboxDb;
  retry: RetryPolicy;
  /** When the drain's budget ends, ms since the epoch. */
  deadline: number;
  /** Failures in a row before this one, from 0. */
  attempt: number;
  announce(event: SwEvent): void;
  /** Counts records dead-lettered here. */
  rejected(count: number): void;
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
 * Handles the first failure of a stretch: reports it (an `error` event,
 * `stats().lastError`) and decides what comes next.
 *
 * @param ctx - see {@link FailureContext}
 * @param batch - the batch the failure hit
 * @param e - the failure
 * @throws the failure itself when the drain must end: not an {@link UploadFailure}
 *   (a bug or a storage error), `stop`, or a wait past the budget
 */
export async function afterFailure(ctx: FailureContext, batch: Batch, e: unknown): Promise<AfterFailure> {
  if (!(e instanceof UploadFailure)) throw e;
  ctx.announce({ type: 'error', error: e.toJSON() });
  await recordFailure(ctx.db, e);
  if (e.action === 'stop') throw e; // every record stays queued; the next wake-up tries again
  if (e.action === 'shrink' && batch.records.length > 1) {
    // Too large for the server: halve the batch; an entry of several
    // records is split first, as batches are made of whole entries.
    if (batch.entries.length === 1) await splitEntry(ctx.db, batch.entries[0]!);
    return { next: 'again', maxRecords: Math.max(1, Math.floor(batch.records.length / 2)) };
  }
  if (e.action === 'reject-batch' || e.action === 'shrink') {
    const rejected = condemned(batch, e);
    await settleBatch(ctx.db, batch, [], rejected);
    ctx.rejected(rejected.length);
    ctx.announce({ type: 'rejected', count: rejected.length, codes: [rejected[0]!.code] });
    return { next: 'again' };
  }
  // The server's Retry-After is a floor under the backoff (retry-policy.ts):
  // "Retry-After: 0" answered again and again must not become a tight loop.
  const ms = retryDelayMs(ctx.attempt, ctx.retry, e.details.retryAfterMs);
  if (!withinBudget(ctx.deadline, ms)) throw e;
  return { next: 'wait', ms, interruptible: e.details.retryAfterMs === undefined };
}
