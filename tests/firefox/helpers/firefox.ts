/**
 * Helpers of the Firefox suite: Debian's `firefox-esr` driven by
 * `puppeteer-core` over WebDriver BiDi (Playwright cannot drive a stock
 * Firefox), the real server from `tests/helpers/server.ts`, and the checks
 * every test ends with. Run with `npm run test:firefox`.
 *
 * Firefox has no `SyncManager`, so everything here exercises the path
 * without Background Sync: the page's wake-up messages, the worker's own
 * retries, its start-up drain and `flush()`.
 *
 * Only this file knows it is Firefox: `launchBrowser()` and `killBrowser()`
 * are what another engine (WebKit) would have to provide.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { ROOT, TestServer, waitFor } from '../../helpers/server.js';

export { waitFor };

/** The Firefox binary: Debian's `firefox-esr` unless `FIREFOX_PATH` says otherwise. */
export const FIREFOX_PATH = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';

/** Generous: two cores are shared with other test runs, and Firefox takes ~10 s to start on them. */
export const LAUNCH_TIMEOUT_MS = 120_000;
/** How long a test waits for records to arrive. */
export const ARRIVAL_TIMEOUT_MS = 60_000;
/** Time limit of one test. */
export const TEST_TIMEOUT_MS = 240_000;

/**
 * Backoff for tests that need the drain to give up quickly: a drain started
 * by a write stops retrying after 2 s and leaves the records queued.
 */
export const GIVE_UP_FAST = { retry: { baseMs: 100, maxMs: 500, syncBudgetMs: 2_000, requestTimeoutMs: 5_000 } };

/** A running Firefox on a profile directory that outlives it (for relaunches). */
export interface RunningBrowser {
  browser: Browser;
  /** The profile directory; relaunch on it to reopen the same IndexedDB and service worker registrations. */
  profileDir: string;
  /** The pid of the browser's main process. */
  pid: number;
}

/** Launches headless Firefox on `profileDir` (a new temporary profile by default). */
export async function launchBrowser(profileDir = mkdtempSync(join(tmpdir(), 'sw-ingest-firefox-'))): Promise<RunningBrowser> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    userDataDir: profileDir,
    timeout: LAUNCH_TIMEOUT_MS,
    protocolTimeout: LAUNCH_TIMEOUT_MS,
    extraPrefsFirefox: {
      // The machine has no network beyond 127.0.0.1: keep Firefox from trying.
      'network.captive-portal-service.enabled': false,
      'network.connectivity-service.enabled': false,
      'browser.safebrowsing.update.enabled': false,
    },
  });
  const pid = browser.process()?.pid;
  if (pid === undefined) throw new Error('puppeteer did not report the Firefox process');
  return { browser, profileDir, pid };
}

/**
 * Kills the browser's main process with SIGKILL, as a crash or the OOM
 * killer would, and waits until it is gone. Its content processes die with
 * it (they lose their parent); any still alive after that are killed too.
 */
export async function killBrowser(running: RunningBrowser): Promise<void> {
  const child = running.browser.process()!;
  const exited = child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(running.pid, 'SIGKILL');
  await exited;
  // puppeteer starts Firefox as the leader of its own process group.
  await waitFor(async () => !groupAlive(running.pid), 10_000, 'Firefox content processes to exit').catch(() => {
    try { process.kill(-running.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
  });
  running.browser.disconnect().catch(() => undefined);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Closes the browser (best effort: it may have been killed). */
export async function closeBrowser(running: RunningBrowser): Promise<void> {
  if (running.browser.connected) await running.browser.close().catch(() => undefined);
  if (groupAlive(running.pid)) {
    try { process.kill(-running.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
  }
}

/**
 * Waits (a minute at most) for the built files the server and the test page
 * need: in a shared work tree another `npm run build` may be replacing dist/.
 */
export async function builtFiles(): Promise<void> {
  const files = ['dist/sw-ingest.iife.js', 'dist/sw-ingest-sw.js', 'server/dist/server/cli.js'].map((f) => join(ROOT, f));
  await waitFor(async () => files.every((f) => existsSync(f)), 60_000, `${files.join(', ')} (run \`npm run build\`)`);
}

/** Starts the server again after `server.stop()` (same port and database), once the built files are there. */
export async function restartServer(server: TestServer): Promise<void> {
  await builtFiles();
  await server.start();
}

/** What each Firefox test gets: a real server, a browser, and clean-up of both. */
export interface FirefoxTest {
  server: TestServer;
  firefox: RunningBrowser;
  /** Relaunches Firefox on the same profile (after `killBrowser` or a close) and makes it `firefox`. */
  relaunch(): Promise<RunningBrowser>;
  /** Console lines of the pages opened with `newPage()`, for failure reports. */
  log: string[];
  /** Opens a tab whose console goes to `log`. */
  newPage(): Promise<Page>;
}

/**
 * A node:test test with a fresh server and Firefox, torn down afterwards
 * (the profile directory too). On failure the server's stderr and the
 * pages' console are printed. `skip`: the reason to skip it (a known bug).
 */
export function firefoxTest(
  name: string,
  body: (ctx: FirefoxTest, t: TestContext) => Promise<void>,
  options: { skip?: string | false } = {},
): void {
  test(name, { timeout: TEST_TIMEOUT_MS, skip: options.skip ?? false }, async (t) => {
    await builtFiles();
    const server = await new TestServer().start();
    const log: string[] = [];
    let firefox: RunningBrowser | undefined;
    const ctx: FirefoxTest = {
      server,
      log,
      get firefox() {
        if (!firefox) throw new Error('Firefox is not running');
        return firefox;
      },
      async relaunch() {
        const dir = ctx.firefox.profileDir;
        await closeBrowser(ctx.firefox);
        firefox = await launchBrowser(dir);
        return firefox;
      },
      async newPage() {
        const page = await ctx.firefox.browser.newPage();
        page.on('console', (m) => log.push(`[page ${m.type()}] ${m.text()}`));
        page.on('pageerror', (e) => log.push(`[page error] ${String(e)}`));
        return page;
      },
    };
    try {
      firefox = await launchBrowser();
      await body(ctx, t);
    } catch (e) {
      console.error(`--- ${name}: server stderr ---\n${server.stderr.slice(-4_000)}`);
      console.error(`--- ${name}: page console ---\n${log.slice(-100).join('\n')}`);
      throw e;
    } finally {
      if (firefox) {
        await closeBrowser(firefox);
        rmSync(firefox.profileDir, { recursive: true, force: true });
      }
      await server.dispose();
    }
  });
}

/**
 * Loads the test page from `origin` and opens a client as `window.client`,
 * recording its events in `window.events` (see {@link events}).
 */
export async function openClient(page: Page, origin: string, options: Record<string, unknown> = {}): Promise<void> {
  await page.goto(`${origin}/`);
  await page.evaluate(async (opts) => {
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
export function ingestReadings(page: Page, count: number, from = 0): Promise<number> {
  return page.evaluate((n, f) => (window as any).ingestReadings((window as any).client, n, f), count, from);
}

/** The client's pending count. */
export function pending(page: Page): Promise<number> {
  return page.evaluate(() => (window as any).client.pending());
}

/** `flush()` in the page; resolves with `'ok'` or the error's code. */
export function flush(page: Page, timeoutMs = 30_000): Promise<string> {
  return page.evaluate(
    (ms) => (window as any).client.flush({ timeoutMs: ms }).then(() => 'ok', (e: any) => String(e?.code ?? e)),
    timeoutMs,
  );
}

/** Events the page's client has seen (`queued`, `uploaded`, `rejected`, `error`), in order. */
export function events(page: Page): Promise<Array<{ type: string; count?: number; code?: string }>> {
  return page.evaluate(() => (window as any).events);
}

/** Whether the worker's drain holds (or waits for) the Web Lock `sw-ingest:drain`, as the page's `navigator.locks.query()` sees it. */
export function drainRunning(page: Page): Promise<boolean> {
  return page.evaluate(async () => {
    const { held = [], pending = [] } = await navigator.locks.query();
    return [...held, ...pending].some((l) => l.name === 'sw-ingest:drain');
  });
}

/**
 * Waits until the drain started by a write has failed at least once and
 * given up (its lock released): from then on the records stay queued until
 * the next wake-up. Deterministic, unlike sleeping past the budget.
 */
export async function waitForDrainToGiveUp(page: Page): Promise<void> {
  await waitFor(async () => (await events(page)).some((e) => e.type === 'error'), ARRIVAL_TIMEOUT_MS, 'an upload to fail');
  await waitFor(async () => !(await drainRunning(page)), ARRIVAL_TIMEOUT_MS, 'the drain to give up');
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

/** Waits until the page's outbox is empty. */
export async function waitForEmptyOutbox(page: Page): Promise<void> {
  await waitFor(async () => (await pending(page)) === 0, ARRIVAL_TIMEOUT_MS, 'the outbox to empty');
}
