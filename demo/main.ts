/**
 * The sw-ingest demo page: a simulated sensor on the left that ingests
 * `Reading`s through the library, and the server's view on the right (polled
 * from `GET /api/demo/summary`, which the server serves with `--demo`).
 * Plain DOM, no framework.
 */
import { open, IngestError, type IngestClient, type ObjectSchema } from '../lib/index.js';
import schemaJson from './schema.json';

const schema = schemaJson as ObjectSchema[];
const TYPE = 'Reading';
const BURST_SIZE = 1_000;
const AUTO_PER_SECOND = 10;
const PENDING_POLL_MS = 250;
const REJECTED_POLL_MS = 1_000;
const SUMMARY_POLL_MS = 1_000;
const FLUSH_TIMEOUT_MS = 15_000;
/** Points the chart keeps (it samples the ≤10 newest stored docs per poll). */
const CHART_POINTS = 120;

// ---------------------------------------------------------------- DOM

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: #${id} is missing from index.html`);
  return el as T;
}

const ui = {
  openError: $('open-error'),
  deviceState: $('device-state'),
  deviceId: $<HTMLInputElement>('device-id'),
  ingestOne: $<HTMLButtonElement>('ingest-one'),
  burst: $<HTMLButtonElement>('burst'),
  auto: $<HTMLButtonElement>('auto'),
  cut: $<HTMLButtonElement>('cut'),
  flush: $<HTMLButtonElement>('flush'),
  pending: $('pending'),
  pendingDetail: $('pending-detail'),
  pendingBar: $('pending-bar'),
  pendingBarFill: $('pending-bar-fill'),
  ingested: $('ingested-count'),
  rejected: $('rejected'),
  bgSync: $('bg-sync'),
  status: $('status'),
  lastError: $('last-error'),
  serverState: $('server-state'),
  stored: $('stored-count'),
  collections: $('collections'),
  chart: document.getElementById('chart') as unknown as SVGSVGElement,
  recentRows: $('recent-rows'),
};

const fmt = new Intl.NumberFormat('en-US');
const timeFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

function setPill(el: HTMLElement, state: 'starting' | 'ok' | 'busy' | 'warn' | 'error', text: string): void {
  el.dataset.state = state;
  el.textContent = text;
}

function setStatus(text: string, kind: 'info' | 'ok' | 'error' = 'info'): void {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
}

function describeError(e: unknown): { code: string; message: string } {
  if (e instanceof IngestError) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: e.name, message: e.message };
  return { code: 'error', message: String(e) };
}

function showLastError(context: string, e: unknown): void {
  const { code, message } = describeError(e);
  ui.lastError.hidden = false;
  ui.lastError.replaceChildren(
    el('span', 'error-label', 'Last error'),
    ' ',
    el('code', 'error-code', code),
    ' ',
    el('span', 'muted', `(${context}, ${timeFmt.format(new Date())})`),
    el('br'),
    message,
  );
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------------------------------------------------------------- the simulated sensor

function deviceId(): string {
  return ui.deviceId.value.trim() || 'sensor-1';
}

/** Next sequence number of a device; kept in localStorage so it keeps counting across reloads. */
function nextSeqs(device: string, n: number): number {
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

function readings(n: number): Record<string, unknown>[] {
  const device = deviceId();
  const first = nextSeqs(device, n);
  const at = new Date();
  return Array.from({ length: n }, (_, i) => ({ deviceId: device, seq: first + i, temp: temperature(first + i), at }));
}

// ---------------------------------------------------------------- device panel

let client: IngestClient | undefined;
let ingestedHere = 0;
let peakPending = 0;
let autoTimer: ReturnType<typeof setInterval> | undefined;

/** Ingests `n` readings; `label` (if any) goes to the status line once they are committed. */
async function ingest(n: number, label?: string): Promise<void> {
  if (!client) return;
  const docs = readings(n);
  try {
    await client.ingest(TYPE, n === 1 ? docs[0]! : docs);
    ingestedHere += n;
    ui.ingested.textContent = fmt.format(ingestedHere);
    if (label) setStatus(label, 'ok');
    void refreshPending();
  } catch (e) {
    setStatus(`ingest() failed: nothing was queued.`, 'error');
    showLastError('ingest', e);
  }
}

function setAuto(on: boolean): void {
  ui.auto.setAttribute('aria-pressed', String(on));
  if (on && !autoTimer) {
    autoTimer = setInterval(() => void ingest(1), 1000 / AUTO_PER_SECOND);
    setStatus(`Auto on: committing ${AUTO_PER_SECOND} readings/s to the outbox.`, 'ok');
  } else if (!on && autoTimer) {
    clearInterval(autoTimer);
    autoTimer = undefined;
    setStatus('Auto stopped.');
  }
}

/** The offline switch: client.pause() really stops the service worker's uploads; resume() lets them drain. */
async function setCut(on: boolean): Promise<void> {
  if (!client) return;
  ui.cut.setAttribute('aria-pressed', String(on));
  if (on) {
    await client.pause();
    setPill(ui.deviceState, 'warn', 'cut off: queueing');
    setStatus('The service worker is cut off (client.pause()): readings queue in IndexedDB; nothing is uploaded.', 'info');
  } else {
    await client.resume();
    onlineState();
    setStatus('Reconnected (client.resume()): watch pending drain and stored climb, each reading once.', 'ok');
  }
}

async function flushNow(): Promise<void> {
  if (!client) return;
  ui.flush.disabled = true;
  setStatus('Flushing: the service worker is uploading…');
  const started = performance.now();
  try {
    await client.flush({ timeoutMs: FLUSH_TIMEOUT_MS });
    setStatus(`Flushed in ${Math.round(performance.now() - started)} ms: the outbox is empty, the server confirmed everything.`, 'ok');
  } catch (e) {
    setStatus('Flush failed. Nothing is lost: the records stay in the outbox and will be uploaded later.', 'error');
    showLastError('flush', e);
  } finally {
    ui.flush.disabled = false;
    void refreshPending();
  }
}

let pendingBusy = false;
async function refreshPending(): Promise<void> {
  if (!client || pendingBusy) return;
  pendingBusy = true;
  try {
    const n = await client.pending();
    if (n === 0 && peakPending > 1 && !autoTimer && ui.status.dataset.kind !== 'error') {
      setStatus(`Outbox drained: the server confirmed all ${fmt.format(peakPending)} records and the device deleted them.`, 'ok');
    }
    peakPending = n === 0 ? 0 : Math.max(peakPending, n);
    ui.pending.textContent = fmt.format(n);
    ui.pending.dataset.count = String(n);
    ui.pending.classList.toggle('zero', n === 0);
    // Scaled to the peak since the outbox was last empty (at least 20, so Auto's 0/1 does not flash a full bar).
    const share = n / Math.max(peakPending, 20);
    ui.pendingBarFill.style.width = `${(share * 100).toFixed(1)}%`;
    ui.pendingBar.setAttribute('aria-valuemax', String(peakPending));
    ui.pendingBar.setAttribute('aria-valuenow', String(n));
    ui.pendingDetail.textContent = n === 0
      ? 'outbox empty, nothing kept on the device'
      : `of ${fmt.format(peakPending)} queued, ${fmt.format(peakPending - n)} uploaded and deleted`;
  } catch (e) {
    showLastError('pending', e);
  } finally {
    pendingBusy = false;
  }
}

async function refreshRejected(): Promise<void> {
  if (!client) return;
  try {
    const n = (await client.rejected()).length;
    ui.rejected.textContent = fmt.format(n);
    ui.rejected.classList.toggle('bad', n > 0);
  } catch {
    /* shown by the pending poll if IndexedDB is gone */
  }
}

// ---------------------------------------------------------------- server panel

interface RecentRow {
  key: string;
  collection: string;
  receivedAt: number | undefined;
  deviceId: string;
  seq: number | undefined;
  temp: number | undefined;
  at: Date | undefined;
  id: string;
}

/** Relaxed Extended JSON number: a number, or `{$numberLong|$numberInt|$numberDouble: "…"}`. */
function ejsonNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const s = o.$numberLong ?? o.$numberInt ?? o.$numberDouble ?? o.$numberDecimal;
    if (typeof s === 'string') {
      const n = Number(s);
      return Number.isNaN(n) && s !== 'NaN' ? undefined : n;
    }
  }
  return undefined;
}

/** Relaxed Extended JSON date: `{$date: "ISO"}` or `{$date: {$numberLong: "ms"}}`. */
function ejsonDate(v: unknown): Date | undefined {
  if (v && typeof v === 'object' && '$date' in v) {
    const d = (v as { $date: unknown }).$date;
    const ms = typeof d === 'string' ? Date.parse(d) : ejsonNumber(d);
    return ms === undefined || Number.isNaN(ms) ? undefined : new Date(ms);
  }
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(v);
  return undefined;
}

function ejsonId(v: unknown): string {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$oid === 'string') return o.$oid;
    if (o.$uuid !== undefined) return String(o.$uuid);
    return JSON.stringify(v);
  }
  return v === undefined ? '' : String(v);
}

function parseRecent(raw: unknown): RecentRow[] {
  if (!Array.isArray(raw)) return [];
  const rows: RecentRow[] = [];
  for (const item of raw) {
    if (!item || typeof item !== 'object') continue;
    const entry = item as Record<string, unknown>;
    // `{collection, receivedAt, doc}`; tolerate a bare document with the collection name in it.
    const doc = (entry.doc && typeof entry.doc === 'object' ? entry.doc : entry) as Record<string, unknown>;
    const collection = typeof entry.collection === 'string' ? entry.collection : typeof entry._collection === 'string' ? entry._collection : TYPE;
    const id = ejsonId(doc._id);
    const seq = ejsonNumber(doc.seq);
    const receivedAt = ejsonNumber(entry.receivedAt) ?? ejsonDate(entry.receivedAt)?.getTime();
    rows.push({
      key: id || `${collection}:${String(doc.deviceId)}:${seq}:${receivedAt}`,
      collection,
      receivedAt,
      deviceId: typeof doc.deviceId === 'string' ? doc.deviceId : '',
      seq,
      temp: ejsonNumber(doc.temp),
      at: ejsonDate(doc.at),
      id,
    });
  }
  return rows;
}

const chartPoints = new Map<string, RecentRow>();

function renderSummary(body: unknown): void {
  const summary = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const collections = (summary.collections && typeof summary.collections === 'object' ? summary.collections : {}) as Record<string, unknown>;
  const counts = Object.entries(collections).map(([name, v]) => [name, ejsonNumber(v) ?? 0] as const);
  const readingCount = counts.find(([name]) => name === TYPE)?.[1] ?? 0;
  ui.stored.textContent = fmt.format(readingCount);
  ui.stored.dataset.count = String(readingCount);
  ui.collections.textContent = counts.length === 0
    ? ''
    : counts.length === 1
      ? `in the ${counts[0]![0]} collection`
      : counts.map(([name, n]) => `${name}: ${fmt.format(n)}`).join(' · ');

  const recent = parseRecent(summary.recent);
  renderTable(recent);
  for (const r of recent) if (r.collection === TYPE && r.temp !== undefined && Number.isFinite(r.temp)) chartPoints.set(r.key, r);
  if (readingCount === 0) chartPoints.clear(); // a fresh database
  const sorted = [...chartPoints.values()].sort(byArrival);
  for (const old of sorted.splice(0, Math.max(0, sorted.length - CHART_POINTS))) chartPoints.delete(old.key);
  renderChart(sorted);
}

function byArrival(a: RecentRow, b: RecentRow): number {
  return (a.receivedAt ?? 0) - (b.receivedAt ?? 0) || (a.at?.getTime() ?? 0) - (b.at?.getTime() ?? 0) || (a.seq ?? 0) - (b.seq ?? 0);
}

function renderTable(rows: RecentRow[]): void {
  if (rows.length === 0) {
    const tr = el('tr', 'empty');
    const td = el('td');
    td.colSpan = 6;
    td.append('Nothing stored yet. Click ', el('b', undefined, 'Ingest 1 reading'), '.');
    tr.append(td);
    ui.recentRows.replaceChildren(tr);
    return;
  }
  ui.recentRows.replaceChildren(...rows.map((r) => {
    const tr = el('tr');
    const id = el('td', 'id', r.id.length > 10 ? `…${r.id.slice(-8)}` : r.id);
    id.title = r.id;
    tr.append(
      el('td', 'time', r.receivedAt === undefined ? '–' : timeFmt.format(new Date(r.receivedAt))),
      el('td', undefined, r.deviceId + (r.collection !== TYPE ? ` (${r.collection})` : '')),
      el('td', 'num', r.seq === undefined ? '–' : String(r.seq)),
      el('td', 'num', r.temp === undefined ? '–' : r.temp.toFixed(2)),
      el('td', 'time', r.at ? timeFmt.format(r.at) : '–'),
      id,
    );
    return tr;
  }));
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

let lastChart: RecentRow[] = [];
function renderChart(points: RecentRow[]): void {
  lastChart = points;
  // Draw in CSS pixels, so text and lines are not stretched.
  const W = Math.max(200, Math.round(ui.chart.clientWidth || 560)), H = Math.max(80, Math.round(ui.chart.clientHeight || 150));
  const left = 34, right = 10, top = 10, bottom = 20;
  ui.chart.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const nodes: SVGElement[] = [];
  const temps = points.map((p) => p.temp!);
  let lo = Math.min(...temps, 19), hi = Math.max(...temps, 23);
  lo = Math.floor(lo); hi = Math.ceil(hi);
  const y = (t: number): number => top + (H - top - bottom) * (1 - (t - lo) / (hi - lo || 1));
  const x = (i: number): number => left + (W - left - right) * (points.length <= 1 ? 0.5 : i / (points.length - 1));

  const step = hi - lo > 6 ? 2 : 1;
  for (let t = lo; t <= hi; t += step) {
    nodes.push(svg('line', { x1: left, x2: W - right, y1: y(t), y2: y(t), class: 'grid' }));
    nodes.push(svg('text', { x: left - 6, y: y(t) + 3.5, class: 'axis', 'text-anchor': 'end' }, String(t)));
  }
  if (points.length === 0) {
    nodes.push(svg('text', { x: (W + left) / 2, y: H / 2, class: 'chart-empty', 'text-anchor': 'middle' }, 'waiting for stored readings…'));
  } else {
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.temp!).toFixed(1)}`).join(' ');
    nodes.push(svg('path', { d: `${d} L${x(points.length - 1).toFixed(1)},${H - bottom} L${x(0).toFixed(1)},${H - bottom} Z`, class: 'area' }));
    nodes.push(svg('path', { d, class: 'line' }));
    const last = points[points.length - 1]!;
    nodes.push(svg('circle', { cx: x(points.length - 1), cy: y(last.temp!), r: 3.5, class: 'dot' }));
    nodes.push(svg('text', { x: left, y: H - 5, class: 'axis' }, `← older`));
    nodes.push(svg('text', { x: W - right, y: H - 5, class: 'axis', 'text-anchor': 'end' },
      `newest: ${last.temp!.toFixed(2)} °C (${last.deviceId} #${last.seq ?? '?'})`));
  }
  ui.chart.replaceChildren(...nodes);
}

let summaryBusy = false;
async function refreshSummary(): Promise<void> {
  if (summaryBusy) return;
  summaryBusy = true;
  try {
    const res = await fetch('/api/demo/summary', { cache: 'no-store', signal: AbortSignal.timeout(4_000) });
    if (res.status === 404) {
      setPill(ui.serverState, 'warn', 'no --demo');
      ui.collections.textContent = 'Start the server with --demo to see what it stores.';
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    renderSummary(await res.json());
    setPill(ui.serverState, 'ok', 'live');
    document.body.classList.remove('server-down');
  } catch {
    setPill(ui.serverState, 'error', 'unreachable');
    document.body.classList.add('server-down'); // last known values stay, dimmed
  } finally {
    summaryBusy = false;
  }
}

/**
 * Live updates: the server pushes a summary (server-sent events) whenever
 * its counts change. While the stream is down (server restarting, no
 * --demo), the page falls back to polling.
 */
let live = false;
function listenToServer(): void {
  if (typeof EventSource === 'undefined') return;
  const events = new EventSource('/api/demo/events');
  events.addEventListener('summary', (e) => {
    live = true;
    document.body.dataset.serverFeed = 'sse';
    renderSummary(JSON.parse((e as MessageEvent<string>).data));
    setPill(ui.serverState, 'ok', 'live');
    document.body.classList.remove('server-down');
  });
  events.onerror = () => { live = false; }; // EventSource reconnects by itself; polling covers the gap
}

// ---------------------------------------------------------------- start

function onlineState(): void {
  if (!client || ui.cut.getAttribute('aria-pressed') === 'true') return;
  if (navigator.onLine) setPill(ui.deviceState, 'ok', 'online');
  else setPill(ui.deviceState, 'warn', 'offline: queueing');
}

async function start(): Promise<void> {
  ui.bgSync.textContent = 'SyncManager' in window
    ? 'yes: uploads even after the tab closes'
    : 'no: uploads while a page is open';

  void refreshSummary();
  listenToServer();
  setInterval(() => { if (!live) void refreshSummary(); }, SUMMARY_POLL_MS);

  try {
    client = await open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema });
  } catch (e) {
    const { code, message } = describeError(e);
    setPill(ui.deviceState, 'error', 'not open');
    setStatus(`Could not open the outbox (${code}); see the message above.`, 'error');
    ui.openError.hidden = false;
    ui.openError.replaceChildren(
      el('b', undefined, 'open() failed '), el('code', undefined, code), ': ', message,
      el('br'),
      'The device panel is disabled. Service workers need https or localhost, and a browser profile with IndexedDB (not every private mode has it).',
    );
    return;
  }

  for (const b of [ui.ingestOne, ui.burst, ui.auto, ui.cut, ui.flush]) b.disabled = false;
  if ((await client.stats()).paused) void setCut(true); // still cut off from an earlier visit
  ui.ingestOne.addEventListener('click', () => void ingest(1, 'Queued 1 reading: committed to IndexedDB, the service worker takes it from here.'));
  ui.burst.addEventListener('click', () => {
    setStatus(`Queuing ${fmt.format(BURST_SIZE)} readings…`);
    void ingest(BURST_SIZE, `Queued ${fmt.format(BURST_SIZE)} readings in one IndexedDB transaction; watch them drain.`);
  });
  ui.auto.addEventListener('click', () => setAuto(ui.auto.getAttribute('aria-pressed') !== 'true'));
  ui.cut.addEventListener('click', () => void setCut(ui.cut.getAttribute('aria-pressed') !== 'true'));
  ui.flush.addEventListener('click', () => void flushNow());
  window.addEventListener('online', onlineState);
  window.addEventListener('offline', onlineState);
  onlineState();
  setStatus('Ready: the outbox is open and the service worker is active.', 'ok');
  document.body.dataset.ready = 'true';

  void refreshPending();
  void refreshRejected();
  setInterval(() => void refreshPending(), PENDING_POLL_MS);
  setInterval(() => void refreshRejected(), REJECTED_POLL_MS);
}

renderChart([]);
window.addEventListener('resize', () => renderChart(lastChart));
void start();
