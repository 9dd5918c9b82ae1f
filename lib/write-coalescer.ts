/**
 * The write coalescer of a client: every `ingest()` made in the same task
 * joins one pending write, committed in one IndexedDB transaction from a
 * microtask (after the caller's synchronous calls), and every promise of
 * that write resolves only after the transaction committed.
 *
 * Rules where promises interleave:
 * - A write is taken by the first call of a task and committed in the
 *   microtask after it; calls after that commit started join the next one.
 * - A failed commit rejects every promise of that write with a typed error
 *   (`quota-exceeded`, `storage-failed`, or the outbox's own `outbox-full`);
 *   nothing of it was queued.
 * - {@link WriteCoalescer.settled} waits for the pending write and the one
 *   committing, so `flush()` and `pending()` see what was ingested before.
 */
import { IngestError } from '../core/errors.js';
import { appendRecords, type EntryLimits, type OutboxCaps, type OutboxDb, type OutboxRecord } from './outbox-db.js';

/** The write that the current task's `ingest()` calls join. */
export interface PendingWrite {
  records: OutboxRecord[];
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** How writes are committed. */
export interface WriteSettings {
  durability: IDBTransactionDurability;
  caps: OutboxCaps;
  entries: EntryLimits;
}

/** Coalesces the records of one task into one committed write. */
export class WriteCoalescer {
  private pendingWrite: PendingWrite | undefined;
  private lastWrite: Promise<void> = Promise.resolve();

  /**
   * @param db - the outbox
   * @param settings - durability, caps and entry limits
   * @param committed - called after each commit with how many records it queued (never throws into the write)
   */
  constructor(
    private readonly db: OutboxDb,
    private readonly settings: WriteSettings,
    private readonly committed: (count: number) => void,
  ) {}

  /** The write of this task, started if there is none: push records into it and return its `done`. */
  current(): PendingWrite {
    return this.pendingWrite ?? this.start();
  }

  private start(): PendingWrite {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
    const write: PendingWrite = { records: [], done, resolve, reject };
    this.pendingWrite = write;
    queueMicrotask(() => this.commit());
    return write;
  }

  private commit(): void {
    const write = this.pendingWrite!;
    this.pendingWrite = undefined;
    const { durability, caps, entries } = this.settings;
    this.lastWrite = appendRecords(this.db, write.records, durability, caps, entries).then(
      () => {
        write.resolve();
        this.committed(write.records.length);
      },
      (e: unknown) => write.reject(e instanceof IngestError ? e : storageError(e, write.records.length)),
    );
  }

  /** Waits for writes already started (their failures are their callers'). */
  async settled(): Promise<void> {
    if (this.pendingWrite) await this.pendingWrite.done.catch(() => undefined);
    await this.lastWrite.catch(() => undefined);
  }
}

/** IndexedDB's error of a failed commit as a typed error. */
function storageError(e: unknown, count: number): IngestError {
  const name = (e as { name?: string } | null)?.name ?? 'Error';
  if (name === 'QuotaExceededError') {
    return new IngestError('quota-exceeded', `ingest(): ${count} record(s) not queued: the browser's storage quota for this origin is exhausted`, { cause: e });
  }
  return new IngestError('storage-failed', `ingest(): ${count} record(s) not queued: ${name}: ${String((e as Error)?.message ?? e)}`, { cause: e });
}
