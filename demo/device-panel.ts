/**
 * The device card: what this browser holds and what its service worker
 * does, told by the library's events (`client.on`) rather than by polling.
 * It shows the records pending in the outbox (with a bar scaled to the
 * latest backlog), the records refused, each delivered batch (BatchList),
 * upload errors, the network as the browser sees it, and it owns the "cut
 * the service worker off" switch (`pause()` / `resume()`) and "Flush now".
 *
 * Rules where events and reads meet:
 * - `stats()` is read once, at start; afterwards every event that changes
 *   the outbox (`queued`, `uploaded`, `rejected`, `error`) schedules one
 *   `pending()` read, at most one in flight, and one more if events arrived
 *   meanwhile, so the last read always follows the last event.
 * - Between reads the count moves with the events: up by a `queued`
 *   count, to an `uploaded` event's `pending` (what the worker left).
 */
import type { IngestClient, IngestEvents } from '../lib/index.js';
import { BatchList } from './batch-list.js';
import { byId, NUMBER_FORMAT, setPill } from './dom.js';
import type { Sensor } from './sensor.js';
import type { StatusLine } from './status-line.js';

/** How long "Flush now" waits for an empty outbox. */
const FLUSH_TIMEOUT_MS = 15_000;
/** The pending bar is scaled to the backlog, but never to less than this, so Auto's 0/1 does not flash a full bar. */
const BAR_MIN_SCALE = 20;

/** The device card, once the outbox is open. */
export class DevicePanel {
  private readonly state = byId('device-state');
  private readonly cut = byId<HTMLButtonElement>('cut');
  private readonly flush = byId<HTMLButtonElement>('flush');
  private readonly pending = byId('pending');
  private readonly pendingDetail = byId('pending-detail');
  private readonly pendingBar = byId('pending-bar');
  private readonly pendingBarFill = byId('pending-bar-fill');
  private readonly ingested = byId('ingested-count');
  private readonly rejected = byId('rejected');
  private readonly batches = new BatchList();

  private shownPending = 0;
  /** The most records pending since the outbox was last empty. */
  private peakPending = 0;
  private ingestedHere = 0;
  private rejectedTotal = 0;
  private reading = false;
  private readAgain = false;

  /**
   * @param client - the open outbox
   * @param status - the status and last-error lines
   * @param sensor - whether readings keep coming (no "drained" message then)
   */
  constructor(private readonly client: IngestClient, private readonly status: StatusLine, private readonly sensor: Sensor) {}

  /** Reads the outbox once, then follows the library's events. */
  async start(): Promise<void> {
    const stats = await this.client.stats();
    this.showPending(stats.pending);
    this.rejectedTotal = stats.rejected;
    this.showRejected();
    if (stats.paused) this.showCut(true); // still cut off from an earlier visit

    const { client } = this;
    client.on('queued', ({ count }) => {
      this.ingestedHere += count;
      this.ingested.textContent = NUMBER_FORMAT.format(this.ingestedHere);
      this.showPending(this.shownPending + count);
      void this.readPending();
    });
    client.on('uploaded', (batch) => {
      this.batches.add(batch);
      this.showPending(batch.pending);
      void this.readPending();
    });
    client.on('rejected', (refused) => this.onRejected(refused));
    client.on('error', ({ error }) => {
      this.status.say(`Upload failed (${error.code}). Nothing is lost: the records stay in the outbox and the service worker retries.`, 'error');
      this.status.showError('upload', error);
      void this.readPending();
    });
    client.on('online', () => this.showConnection());
    client.on('offline', () => this.showConnection());
    client.on('schema-mismatch', ({ types }) => {
      this.status.say(`The server's schema differs for ${types.join(', ')}: it may refuse these records. Deploy the same schema.json to both.`, 'error');
    });

    this.cut.addEventListener('click', () => void this.setCut(this.cut.getAttribute('aria-pressed') !== 'true'));
    this.flush.addEventListener('click', () => void this.flushNow());
    for (const b of [this.cut, this.flush]) b.disabled = false;
    this.showConnection();
  }

  private onRejected({ count, codes }: IngestEvents['rejected']): void {
    this.rejectedTotal += count;
    this.showRejected();
    this.status.say(`The server refused ${NUMBER_FORMAT.format(count)} record${count === 1 ? '' : 's'} (${codes.join(', ')}): kept in rejected(), not retried.`, 'error');
    void this.readPending();
  }

  /** One `pending()` read at a time; events during it ask for one more. */
  private async readPending(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        this.showPending(await this.client.pending());
      } while (this.readAgain);
    } catch (e) {
      this.status.showError('pending', e);
    } finally {
      this.reading = false;
    }
  }

  private showPending(n: number): void {
    if (n === 0 && this.peakPending > 1 && !this.sensor.streaming) {
      this.status.say(`Outbox drained: the server confirmed all ${NUMBER_FORMAT.format(this.peakPending)} records and the device deleted them.`, 'ok');
    }
    this.peakPending = n === 0 ? 0 : Math.max(this.peakPending, n);
    this.shownPending = n;
    this.pending.textContent = NUMBER_FORMAT.format(n);
    this.pending.dataset.count = String(n);
    this.pending.classList.toggle('zero', n === 0);
    const share = n / Math.max(this.peakPending, BAR_MIN_SCALE);
    this.pendingBarFill.style.width = `${(share * 100).toFixed(1)}%`;
    this.pendingBar.setAttribute('aria-valuemax', String(this.peakPending));
    this.pendingBar.setAttribute('aria-valuenow', String(n));
    this.pendingDetail.textContent = n === 0
      ? 'outbox empty, nothing kept on the device'
      : `of ${NUMBER_FORMAT.format(this.peakPending)} queued, ${NUMBER_FORMAT.format(this.peakPending - n)} uploaded and deleted`;
  }

  private showRejected(): void {
    this.rejected.textContent = NUMBER_FORMAT.format(this.rejectedTotal);
    this.rejected.classList.toggle('bad', this.rejectedTotal > 0);
  }

  /** The pill: cut off, or the network as the browser reports it. */
  private showConnection(): void {
    if (this.cut.getAttribute('aria-pressed') === 'true') setPill(this.state, 'warn', 'cut off: queueing');
    else if (navigator.onLine) setPill(this.state, 'ok', 'online');
    else setPill(this.state, 'warn', 'offline: queueing');
  }

  private showCut(on: boolean): void {
    this.cut.setAttribute('aria-pressed', String(on));
    this.showConnection();
  }

  /** The offline switch: `pause()` really stops the service worker's uploads; `resume()` lets them drain. */
  private async setCut(on: boolean): Promise<void> {
    this.showCut(on);
    if (on) {
      await this.client.pause();
      this.status.say('The service worker is cut off (client.pause()): readings queue in IndexedDB; nothing is uploaded.');
    } else {
      await this.client.resume();
      this.status.say('Reconnected (client.resume()): watch pending drain and stored climb, each reading once.', 'ok');
    }
  }

  private async flushNow(): Promise<void> {
    this.flush.disabled = true;
    this.status.say('Flushing: the service worker is uploading…');
    const started = performance.now();
    try {
      await this.client.flush({ timeoutMs: FLUSH_TIMEOUT_MS });
      this.status.say(`Flushed in ${Math.round(performance.now() - started)} ms: the outbox is empty, the server confirmed everything.`, 'ok');
    } catch (e) {
      this.status.say('Flush failed. Nothing is lost: the records stay in the outbox and will be uploaded later.', 'error');
      this.status.showError('flush', e);
    } finally {
      this.flush.disabled = false;
      void this.readPending();
    }
  }
}
