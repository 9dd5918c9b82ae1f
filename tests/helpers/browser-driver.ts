/**
 * The engine-neutral half of the browser suites: what a test does in the
 * test page (open a client, ingest readings, read pending, flush, watch the
 * drain) and the checks every delivery test ends with (exactly once). An
 * engine's helper supplies a {@link BrowserPage}: a way to load a URL and to
 * evaluate a function in the page; everything here is written against that.
 *
 * One copy for every browser suite: the WebKit suite uses it directly
 * (tests/webkit/helpers/webkit.ts, W3C WebDriver), the Firefox suite
 * re-exports it (a puppeteer `Page` fits {@link BrowserPage} as it is), and
 * the Playwright fixtures take its retry settings, drain check and
 * exactly-once check (tests/e2e/fixtures.ts).
 */
import assert from 'node:assert/strict';
import { waitFor, type TestServer } from './server.js';

export { waitFor };

/**
 * A page of some engine. `evaluate` runs `fn` in the page with JSON-able
 * `args`, awaits what it returns and resolves with that (as JSON); it
 * rejects when `fn` throws or rejects.
 */
export interface BrowserPage {
  // Typed loosely so that puppeteer's Page (generic over its arguments' handles) fits as it is.
  evaluate(fn: (...args: any[]) => unknown, ...args: any[]): Promise<any>;
  /** Loads `url` and resolves once it has loaded. */
  goto(url: string): Promise<unknown>;
}

/** How long a test waits for records to arrive. */
export const ARRIVAL_TIMEOUT_MS = 60_000;

/**
 * Backoff for tests that need the drain to give up quickly: a drain started
 * by a write stops retrying after 2 s and leaves the records queued.
 */
export const GIVE_UP_FAST = { retry: { baseMs: 100, maxMs: 500, syncBudgetMs: 2_000, requestTimeoutMs: 5_000 } };

/** What the page's client has seen, as {@link events} lists it. */
export interface ClientEvent {
  type: 'queued' | 'uploaded' | 'rejected' | 'error';
  count?: number;
  code?: string;
}

/**
 * Loads the test page (tests/fixtures/site/index.html) from `origin` and
 * opens a client as `window.client`, recording its events in
 * `window.events` (see {@link events}).
 */
export async function openClient(page: BrowserPage, origin: string, options: Record<string, unknown> = {}): Promise<void> {
  await page.goto(`${origin}/`);
  await openClientInPage(page, options);
}

/** {@link openClient} in the page already loaded (say, after the test wrapped a browser API). */
export async function openClientInPage(page: BrowserPage, options: Record<string, unknown> = {}): Promise<void> {
  await page.evaluate(async (opts: Record<string, unknown>) => {
    const w = window as any;
    w.events = [];
    w.client = await w.SwIngest.open({
      endpoint: '/api/ingest',
      serviceWorker: '/sw-ingest-sw.js',
      schema: w.readingSchema,
      ...opts,
    });
    for (const type of ['queued', 'uploaded', 'rejected', 'error']) {
      w.client.on(type, (d: any) => w.events.push({ type, count: d.count, code: d.error?.code }));
    }
  }, options);
}

/** Ingests readings `from … from+count-1` in the page (one coalesced write), resolving when all committed. */
export function ingestReadings(page: BrowserPage, count: number, from = 0): Promise<number> {
  return page.evaluate((n: number, f: number) => (window as any).ingestReadings((window as any).client, n, f) as Promise<number>, count, from);
}

/** The client's pending count. */
export function pending(page: BrowserPage): Promise<number> {
  return page.evaluate(() => (window as any).client.pending() as Promise<number>);
}

/** `flush()` in the page; resolves with `'ok'` or the error's code. */
export function flush(page: BrowserPage, timeoutMs = 30_000): Promise<string> {
  return page.evaluate(
    (ms: number) => (window as any).client.flush({ timeoutMs: ms }).then(() => 'ok', (e: any) => String(e?.code ?? e)) as Promise<string>,
    timeoutMs,
  );
}

/** Events the page's client has seen (`queued`, `uploaded`, `rejected`, `error`), in order. */
export function events(page: BrowserPage): Promise<ClientEvent[]> {
  return page.evaluate(() => (window as any).events as ClientEvent[]);
}

/** Records the page was told were uploaded (the worker's `uploaded` events over BroadcastChannel). */
export async function announcedUploads(page: BrowserPage): Promise<number> {
  return (await events(page)).filter((e) => e.type === 'uploaded').reduce((n, e) => n + (e.count ?? 0), 0);
}

/** Whether the worker's drain holds (or waits for) the Web Lock `sw-ingest:drain`, as the page's `navigator.locks.query()` sees it. */
export function drainRunning(page: BrowserPage): Promise<boolean> {
  return page.evaluate(async () => {
    const { held = [], pending: waiting = [] } = await navigator.locks.query();
    return [...held, ...waiting].some((l) => l.name === 'sw-ingest:drain');
  });
}

/**
 * Waits until the drain started by a write has failed at least once and
 * given up (its lock released): from then on the records stay queued until
 * the next wake-up. Deterministic, unlike sleeping past the budget.
 */
export async function waitForDrainToGiveUp(page: BrowserPage): Promise<void> {
  await waitFor(async () => (await events(page)).some((e) => e.type === 'error'), ARRIVAL_TIMEOUT_MS, 'an upload to fail');
  await waitFor(async () => !(await drainRunning(page)), ARRIVAL_TIMEOUT_MS, 'the drain to give up');
}

/** Waits until the page's outbox is empty. */
export async function waitForEmptyOutbox(page: BrowserPage, timeoutMs = ARRIVAL_TIMEOUT_MS): Promise<void> {
  await waitFor(async () => (await pending(page)) === 0, timeoutMs, 'the outbox to empty');
}

/** Waits until the server has stored `expected` readings. */
export async function waitForArrival(server: TestServer, expected: number, timeoutMs = ARRIVAL_TIMEOUT_MS): Promise<void> {
  await waitFor(async () => (await server.count('Reading')) >= expected, timeoutMs, `${expected} readings to arrive`);
}

/** Waits a moment and checks that nothing arrived: no wake-up happened, so nothing may upload. */
export async function assertNothingArrives(server: TestServer, ms = 2_000): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  assert.equal(await server.count('Reading'), 0, 'records were uploaded with no wake-up');
}

/**
 * The check every delivery test ends with: the server holds exactly the
 * readings `0 … expected-1`, each once, with distinct primary keys.
 */
export async function assertExactlyOnce(server: TestServer, expected: number): Promise<void> {
  assert.equal(await server.count('Reading'), expected, 'stored count');
  const docs = await server.exportDocs('Reading');
  assert.equal(docs.length, expected, 'exported documents');
  assert.equal(new Set(docs.map((d) => d._id.toHexString())).size, expected, 'distinct _id');
  const seqs = docs.map((d) => Number(d.seq)).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: expected }, (_, i) => i), 'each seq once');
}
