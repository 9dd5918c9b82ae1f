/**
 * The simulated sensor: a device that measures a temperature and ingests
 * each measurement as a `Reading` through the library. It owns the device
 * id field and the three buttons that make readings (one, a burst, a steady
 * stream); what happens to the readings afterwards is the device panel's.
 */
import type { IngestClient } from '../lib/index.js';
import { byId, NUMBER_FORMAT } from './dom.js';
import type { StatusLine } from './status-line.js';

/** The asymmetric type of demo/schema.json the sensor writes. */
export const READING_TYPE = 'Reading';
/** Readings per click of "Burst". */
export const BURST_SIZE = 1_000;
/** Readings per second while "Auto" is on. */
export const AUTO_PER_SECOND = 10;

/** The next sequence number of a device, kept in localStorage so it keeps counting across reloads. */
function takeSeqs(device: string, n: number): number {
  const key = `sw-ingest-demo:seq:${device}`;
  const first = Number(localStorage.getItem(key)) || 0;
  localStorage.setItem(key, String(first + n));
  return first;
}

/** A wave over ~25 readings with a little noise, so a few consecutive readings already show a shape. */
function temperature(seq: number): number {
  const t = 21 + 2 * Math.sin(seq / 4) + (Math.random() - 0.5) * 0.5;
  return Math.round(t * 100) / 100;
}

/** The sensor's controls, once the outbox is open. */
export class Sensor {
  private readonly deviceId = byId<HTMLInputElement>('device-id');
  private readonly ingestOne = byId<HTMLButtonElement>('ingest-one');
  private readonly burst = byId<HTMLButtonElement>('burst');
  private readonly auto = byId<HTMLButtonElement>('auto');
  private autoTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param client - the open outbox
   * @param status - where to say what was queued, or why not
   */
  constructor(private readonly client: IngestClient, private readonly status: StatusLine) {}

  /** Enables the buttons: call once whoever shows the outbox listens to its events. */
  enable(): void {
    const { status } = this;
    for (const b of [this.ingestOne, this.burst, this.auto]) b.disabled = false;
    this.ingestOne.addEventListener('click', () =>
      void this.ingest(1, 'Queued 1 reading: committed to IndexedDB, the service worker takes it from here.'));
    this.burst.addEventListener('click', () => {
      status.say(`Queuing ${NUMBER_FORMAT.format(BURST_SIZE)} readings…`);
      void this.ingest(BURST_SIZE, `Queued ${NUMBER_FORMAT.format(BURST_SIZE)} readings in one IndexedDB transaction; watch them drain.`);
    });
    this.auto.addEventListener('click', () => this.setAuto(!this.streaming));
  }

  /** Whether "Auto" is on: readings keep coming, so the outbox is rarely empty for long. */
  get streaming(): boolean {
    return this.autoTimer !== undefined;
  }

  /** `n` readings of the device named in the field, numbered on from its last one. */
  private readings(n: number): Record<string, unknown>[] {
    const device = this.deviceId.value.trim() || 'sensor-1';
    const first = takeSeqs(device, n);
    const at = new Date();
    return Array.from({ length: n }, (_, i) => ({ deviceId: device, seq: first + i, temp: temperature(first + i), at }));
  }

  /** Ingests `n` readings; `label` (if any) goes to the status line once they are committed. */
  private async ingest(n: number, label?: string): Promise<void> {
    const docs = this.readings(n);
    try {
      await this.client.ingest(READING_TYPE, n === 1 ? docs[0]! : docs);
      if (label) this.status.say(label, 'ok');
    } catch (e) {
      this.status.say('ingest() failed: nothing was queued.', 'error');
      this.status.showError('ingest', e);
    }
  }

  private setAuto(on: boolean): void {
    this.auto.setAttribute('aria-pressed', String(on));
    if (on && !this.autoTimer) {
      this.autoTimer = setInterval(() => void this.ingest(1), 1000 / AUTO_PER_SECOND);
      this.status.say(`Auto on: committing ${AUTO_PER_SECOND} readings/s to the outbox.`, 'ok');
    } else if (!on && this.autoTimer) {
      clearInterval(this.autoTimer);
      this.autoTimer = undefined;
      this.status.say('Auto stopped.');
    }
  }
}
