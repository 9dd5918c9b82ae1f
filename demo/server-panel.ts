/**
 * The server card: what the server holds, as the server itself reports it.
 * Fed by `GET /api/demo/events` (server-sent events: a summary whenever
 * the counts change); while that stream is down (server restarting, no
 * `--demo`) it polls `GET /api/demo/summary` instead. It shows the stored
 * count, the newest stored documents and the chart, and owns the "server
 * down" switch (`POST /api/demo/outage`), which makes the server answer
 * uploads 503 `database-unavailable` until it is switched back. All of
 * these exist only on a server started with `--demo`.
 */
import { Chart } from './chart.js';
import { byId, el, NUMBER_FORMAT, setPill, TIME_FORMAT } from './dom.js';
import { READING_TYPE } from './sensor.js';
import { storedRows, type DemoSummary, type StoredRow } from './summary.js';

const SUMMARY_URL = '/api/demo/summary';
const EVENTS_URL = '/api/demo/events';
const OUTAGE_URL = '/api/demo/outage';
/** How often the summary is polled while the event stream is down. */
const SUMMARY_POLL_MS = 1_000;
/** How long a request to the demo routes may take before the server counts as unreachable. */
const REQUEST_TIMEOUT_MS = 4_000;

/** What the pill says, from the latest answer. */
type Reach = 'connecting' | 'live' | 'no-demo' | 'unreachable';

/** The server card. */
export class ServerPanel {
  private readonly state = byId('server-state');
  private readonly stored = byId('stored-count');
  private readonly collections = byId('collections');
  private readonly recentRows = byId('recent-rows');
  private readonly outage = byId<HTMLButtonElement>('outage');
  private readonly outageNote = byId('outage-note');
  private readonly chart = new Chart(byId<SVGSVGElement>('chart'));
  private reach: Reach = 'connecting';
  private down = false;
  /** Whether the event stream delivers; polling fills in while it does not. */
  private live = false;
  private polling = false;

  /** Starts listening to the server; needs no open outbox. */
  start(): void {
    window.addEventListener('resize', () => this.chart.draw());
    this.outage.addEventListener('click', () => void this.setOutage(!this.down));
    void this.poll();
    this.listen();
    setInterval(() => { if (!this.live) void this.poll(); }, SUMMARY_POLL_MS);
    void this.readOutage();
  }

  private listen(): void {
    if (typeof EventSource === 'undefined') return;
    const events = new EventSource(EVENTS_URL);
    events.addEventListener('summary', (e) => {
      this.live = true;
      document.body.dataset.serverFeed = 'sse';
      this.show(JSON.parse((e as MessageEvent<string>).data) as DemoSummary);
    });
    events.onerror = () => { this.live = false; }; // EventSource reconnects by itself; polling covers the gap
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const res = await fetch(SUMMARY_URL, { cache: 'no-store', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (res.status === 404) {
        this.showReach('no-demo');
        this.collections.textContent = 'Start the server with --demo to see what it stores.';
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.show((await res.json()) as DemoSummary);
    } catch {
      this.showReach('unreachable'); // the last known values stay, dimmed
    } finally {
      this.polling = false;
    }
  }

  private show(summary: DemoSummary): void {
    this.showReach('live');
    const counts = Object.entries(summary.collections);
    const readings = summary.collections[READING_TYPE] ?? 0;
    this.stored.textContent = NUMBER_FORMAT.format(readings);
    this.stored.dataset.count = String(readings);
    this.collections.textContent = counts.length === 1
      ? `in the ${counts[0]![0]} collection`
      : counts.map(([name, n]) => `${name}: ${NUMBER_FORMAT.format(n)}`).join(' · ');
    const rows = storedRows(summary);
    this.showRows(rows);
    this.chart.update(rows, READING_TYPE, readings);
  }

  private showRows(rows: StoredRow[]): void {
    if (rows.length === 0) {
      const tr = el('tr', 'empty');
      const td = el('td');
      td.colSpan = 6;
      td.append('Nothing stored yet. Click ', el('b', undefined, 'Ingest 1 reading'), '.');
      tr.append(td);
      this.recentRows.replaceChildren(tr);
      return;
    }
    this.recentRows.replaceChildren(...rows.map((r) => {
      const tr = el('tr');
      const id = el('td', 'id', r.id.length > 10 ? `…${r.id.slice(-8)}` : r.id);
      id.title = r.id;
      tr.append(
        el('td', 'time', TIME_FORMAT.format(r.receivedAt)),
        el('td', undefined, (r.deviceId ?? '–') + (r.collection !== READING_TYPE ? ` (${r.collection})` : '')),
        el('td', 'num', r.seq ?? '–'),
        el('td', 'num', r.temp === undefined ? '–' : r.temp.toFixed(2)),
        el('td', 'time', r.at ? TIME_FORMAT.format(r.at) : '–'),
        id,
      );
      return tr;
    }));
  }

  private showReach(reach: Reach): void {
    this.reach = reach;
    document.body.classList.toggle('server-down', reach === 'unreachable');
    if (reach === 'no-demo') setPill(this.state, 'warn', 'no --demo');
    else if (reach === 'unreachable') setPill(this.state, 'error', 'unreachable');
    else if (reach === 'connecting') setPill(this.state, 'starting', 'connecting…');
    else if (this.down) setPill(this.state, 'warn', 'uploads down');
    else setPill(this.state, 'ok', 'live');
  }

  /** The switch as the server has it (a reload, or another tab, may have flipped it). */
  private async readOutage(): Promise<void> {
    try {
      const res = await fetch(OUTAGE_URL, { cache: 'no-store', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.showOutage(((await res.json()) as { down: boolean }).down);
      this.outage.disabled = false;
    } catch {
      this.outageNote.textContent = `needs a server started with --demo (GET ${OUTAGE_URL} failed)`;
    }
  }

  private async setOutage(down: boolean): Promise<void> {
    this.outage.disabled = true;
    try {
      const res = await fetch(OUTAGE_URL, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ down }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.showOutage(((await res.json()) as { down: boolean }).down);
    } catch (e) {
      this.outageNote.textContent = `The switch failed (${e instanceof Error ? e.message : String(e)}); the server is unchanged.`;
    } finally {
      this.outage.disabled = false;
    }
  }

  private showOutage(down: boolean): void {
    this.down = down;
    this.outage.setAttribute('aria-pressed', String(down));
    this.outageNote.textContent = down
      ? 'uploads get 503, Retry-After: 2'
      : 'uploads get 503, as with a lost database';
    this.showReach(this.reach);
  }
}
