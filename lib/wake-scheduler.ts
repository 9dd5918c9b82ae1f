/**
 * When the page wakes the service worker. A message drains now while this
 * page is open; the Background Sync registration (where there is one) is
 * the safety net that fires after the tab closed or the network returned.
 * Both are needed: after a failed sync, Chromium holds a re-registered tag
 * until its retry (5, then 15 minutes), so a sync alone would sit idle.
 *
 * Two timers:
 * - writes: at most one wake-up per {@link WRITE_WAKE_INTERVAL_MS}; a later
 *   one is deferred, never dropped, and sent at once when the page is
 *   hidden or closed;
 * - keep-alive: while records are pending and the page is open, a
 *   non-urgent wake-up every {@link KEEP_ALIVE_MS}.
 */
import { countPending, type OutboxDb } from './outbox-db.js';
import { SYNC_TAG, type PageMessage } from './sw-messages.js';

/**
 * Least time between two wake-ups of the SW caused by writes. A burst of
 * commits (say `await ingest()` in a loop) wakes it at its start and once
 * more at most this long after, instead of once per commit: every wake-up
 * is a message and a sync registration, and makes the SW read IndexedDB,
 * which competes with the page's writes. A running drain loops until the
 * outbox is empty, so it needs no wake-up per commit.
 */
export const WRITE_WAKE_INTERVAL_MS = 50;

/**
 * Interval of the page's keep-alive wake-ups while records are pending.
 * Browsers end an idle worker (Firefox: 30 s after its last event, 30 s
 * more while a waitUntil is pending), and with it a drain backing off from
 * a down server; where no Background Sync wakes it again, this does. Never
 * cuts a backoff short; stops when the outbox is empty.
 */
export const KEEP_ALIVE_MS = 20_000;

/** Wakes the service worker of one client. */
export class WakeScheduler {
  private lastWriteWakeAt = -Infinity;
  private writeWakeTimer: ReturnType<typeof setTimeout> | undefined;
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  /**
   * @param registration - the worker's registration
   * @param db - the outbox, to know whether anything is pending
   * @param useSync - register a Background Sync too (false: messages only)
   */
  constructor(
    private readonly registration: ServiceWorkerRegistration,
    private readonly db: OutboxDb,
    private readonly useSync: boolean,
  ) {}

  /**
   * Wakes the worker now.
   *
   * @param urgent - also cut a drain's backoff short (page opened, visible, online); a write's wake-up does not, so a down server is not hit at the rate of `ingest()`
   */
  wake(urgent = false): void {
    this.post({ type: 'sw-ingest:drain', urgent });
    const sync = (this.registration as ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }).sync;
    if (sync && this.useSync) sync.register(SYNC_TAG).catch(() => undefined); // the message covers it
    this.keepWorkerAlive();
  }

  /** The wake-up after a commit: now, or deferred to {@link WRITE_WAKE_INTERVAL_MS} after the last. */
  afterWrite(): void {
    if (this.writeWakeTimer !== undefined) return; // a wake-up is due; it covers this commit
    const wait = this.lastWriteWakeAt + WRITE_WAKE_INTERVAL_MS - performance.now();
    if (wait <= 0) this.wakeForWrites();
    else this.writeWakeTimer = setTimeout(this.wakeForWrites, wait);
  }

  /** Sends a deferred write wake-up now (the page is being hidden or closed). */
  dueNow(): void {
    if (this.writeWakeTimer !== undefined) this.wakeForWrites();
  }

  /** Posts `message` to the active worker; false when there is none. */
  post(message: PageMessage, transfer: Transferable[] = []): boolean {
    const worker = this.registration.active;
    if (!worker) return false;
    worker.postMessage(message, transfer);
    return true;
  }

  /** Ends the keep-alive (the client is closed); a deferred write wake-up is still sent by {@link WakeScheduler.dueNow}. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  private readonly wakeForWrites = (): void => {
    clearTimeout(this.writeWakeTimer);
    this.writeWakeTimer = undefined;
    this.lastWriteWakeAt = performance.now();
    this.wake();
  };

  private keepWorkerAlive(): void {
    if (this.keepAliveTimer !== undefined || this.stopped) return;
    this.keepAliveTimer = setInterval(() => {
      void countPending(this.db).then((n) => {
        if (n === 0 || this.stopped) {
          clearInterval(this.keepAliveTimer);
          this.keepAliveTimer = undefined;
        } else {
          this.post({ type: 'sw-ingest:drain', urgent: false });
        }
      }, () => undefined);
    }, KEEP_ALIVE_MS);
  }
}
