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
import { ARRIVAL_TIMEOUT_MS, GIVE_UP_FAST } from '../../helpers/browser-driver.js';
import { ROOT, TestServer, waitFor } from '../../helpers/server.js';

export { ARRIVAL_TIMEOUT_MS, GIVE_UP_FAST };

export { waitFor };

/** The Firefox binary: Debian's `firefox-esr` unless `FIREFOX_PATH` says otherwise. */
export const FIREFOX_PATH = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';

/** Generous: two cores are shared with other test runs, and Firefox takes ~10 s to start on them. */
export const LAUNCH_TIMEOUT_MS = 120_000;
/** Time limit of one test. */
export const TEST_TIMEOUT_MS = 240_000;


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

// The engine-neutral half (a puppeteer Page is a BrowserPage as it is): one
// copy for the Firefox, WebKit and Playwright suites.
export {
  assertExactlyOnce, assertNothingArrives, drainRunning, events, flush, ingestReadings, openClient, pending,
  waitForArrival, waitForDrainToGiveUp, waitForEmptyOutbox,
} from '../../helpers/browser-driver.js';
