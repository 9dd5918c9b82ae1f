/**
 * The upload window of a drain: batches read one after the other from the
 * outbox (each after the last key of the one before), at most
 * {@link UPLOADS_IN_FLIGHT} on the wire, the next one read while the ones
 * before it are on the wire, and every reply settled in the order sent.
 *
 * Rules where promises interleave:
 * - A stretch ends when the outbox is read to its end, uploads are paused,
 *   or an upload fails; the drain then looks again from the head.
 * - The first failure decides what happens next. Batches sent after it are
 *   still settled if they were confirmed (keys are explicit); what failed
 *   stays queued and is read again from the head.
 * - A drain starts with one upload at a time, and any failure goes back to
 *   one at a time: a struggling server gets no parallel requests, and a
 *   retry goes out before anything newer.
 * - One login or refresh at a time: with a session stored that is good for
 *   another minute and a half, uploads in flight do not each renew it.
 * - A batch read ahead but not sent is read again by the next stretch.
 */
import type { RecordResult } from '../core/protocol.js';
import { isPaused, readBatch, settleBatch, type Batch, type OutboxDb, type Refusal, type StoredConfig } from '../lib/outbox-db.js';
import type { DrainVia, SwEvent } from '../lib/sw-messages.js';
import { UploadFailure } from '../lib/api-requests.js';
import { freshSession } from '../lib/sessions.js';
import { uploadBatch } from './upload.js';

/**
 * Most uploads in flight at once. The next batch is read, encoded and sent
 * while the server works on the one before, and the previous one is settled
 * meanwhile: the worker's IndexedDB work and the server's insert overlap.
 */
const UPLOADS_IN_FLIGHT = 2;
/** Uploads that must succeed in a row before a second one goes out beside the first. */
const SUCCESSES_BEFORE_PIPELINING = 2;
/** Renew the session this long before uploadBatch() itself would (it does a minute before expiry). */
const SESSION_CHECK_MARGIN_MS = 90_000;

/** A batch on the wire and its coming verdict. */
interface Sent {
  batch: Batch;
  reply: Promise<Array<RecordResult | undefined>>;
}

/** How one stretch ended. */
export interface Stretch {
  /** The first failure, and the batch it hit; undefined when every upload succeeded. */
  failure: { batch: Batch; error: unknown } | undefined;
  /** Whether a batch succeeded before any failure (the drain's backoff starts over). */
  succeeded: boolean;
  /** Whether uploads were found paused. */
  paused: boolean;
  /** Whether any batch was read: false means the outbox was empty at the head. */
  readAny: boolean;
}

/** What the window reports as it settles: records confirmed and refused, and the events for the pages. */
export interface WindowSink {
  settled(uploaded: number, rejected: number): void;
  announce(event: SwEvent): void;
}

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

/** The upload window of one drain; its state (pipelining, session, batch size) lasts across stretches. */
export class UploadWindow {
  /** Uploads that succeeded in a row. */
  private successes = 0;
  /** Until then, uploadBatch() will find the stored session fresh. */
  private sessionGoodUntil = 0;
  /** Records per batch: halved by a 413, doubled back by each success up to the configured size. */
  maxRecords: number;

  constructor(
    private readonly db: OutboxDb,
    private readonly config: StoredConfig,
    private readonly sink: WindowSink,
    private readonly via: DrainVia,
  ) {
    this.maxRecords = config.batchMaxRecords;
  }

  /** Uploads from the head of the outbox until it is read to its end, paused, or an upload fails. */
  async stretch(): Promise<Stretch> {
    const { db, config } = this;
    const inFlight: Sent[] = [];
    const outcome: Stretch = { failure: undefined, succeeded: false, paused: false, readAny: false };
    let after: number | undefined;
    let more = true;
    /** The next batch, read while the uploads before it are on the wire. */
    let readAhead: Promise<Batch | undefined> | undefined;
    const fail = (batch: Batch, error: unknown): void => {
      outcome.failure ??= { batch, error };
      this.successes = 0;
    };
    const read = async (): Promise<Batch | undefined> => {
      if (await isPaused(db)) {
        outcome.paused = true;
        return undefined;
      }
      const batch = await readBatch(db, this.maxRecords, config.batchMaxBytes, after);
      if (batch.entries.length === 0) return undefined;
      after = batch.entries[batch.entries.length - 1]!.key;
      outcome.readAny = true;
      return batch;
    };
    const send = async (): Promise<void> => {
      const batch = await (readAhead ?? read());
      readAhead = undefined;
      if (!batch) {
        more = false;
        return;
      }
      try {
        if (Date.now() > this.sessionGoodUntil) this.sessionGoodUntil = (await freshSession(db, config)).accessTokenExpiresAt - SESSION_CHECK_MARGIN_MS;
      } catch (e) {
        fail(batch, e); // as if the upload had failed: it would have, getting its session
        return;
      }
      const reply = uploadBatch(db, config, batch);
      reply.catch(() => undefined); // awaited, in order, below
      inFlight.push({ batch, reply });
      readAhead = read();
      readAhead.catch(() => undefined); // awaited by the next send(), or at the end of the stretch
    };
    do {
      const window = this.successes >= SUCCESSES_BEFORE_PIPELINING ? UPLOADS_IN_FLIGHT : 1;
      while (more && outcome.failure === undefined && inFlight.length < window) await send();
      const sent = inFlight.shift();
      if (!sent) break;
      try {
        const replies = await sent.reply;
        // The next upload goes on the wire before this one is settled.
        if (more && outcome.failure === undefined && inFlight.length < window) await send();
        await this.settle(sent.batch, replies);
        if (outcome.failure === undefined) {
          this.successes++;
          outcome.succeeded = true;
          this.maxRecords = Math.min(config.batchMaxRecords, this.maxRecords * 2);
        }
      } catch (e) {
        fail(sent.batch, e);
      }
    } while (inFlight.length > 0 || (more && outcome.failure === undefined));
    await readAhead?.catch(() => undefined);
    return outcome;
  }

  /** Settles one reply; throws `bad-response` when it left records unproven (they stay queued). */
  private async settle(batch: Batch, replies: Array<RecordResult | undefined>): Promise<void> {
    const { confirmed, rejected, unproven } = verdicts(replies);
    const left = await settleBatch(this.db, batch, confirmed, rejected);
    this.sink.settled(confirmed.length, rejected.length);
    if (confirmed.length > 0) this.sink.announce({ type: 'uploaded', count: confirmed.length, pending: left.records, via: this.via });
    if (rejected.length > 0) this.sink.announce({ type: 'rejected', count: rejected.length, codes: [...new Set(rejected.map((r) => r.code))] });
    if (unproven > 0) {
      throw new UploadFailure('bad-response', `the reply left ${unproven} of ${batch.records.length} records unconfirmed; they stay queued`, 'retry');
    }
  }
}
