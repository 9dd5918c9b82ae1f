/**
 * Helpers of the WebKit suite: WebKitGTK (Debian's 2.50) driven over W3C
 * WebDriver by WebKitWebDriver, with plain HTTP from Node's fetch, the real
 * server from `tests/helpers/server.ts`, and the engine-neutral steps and
 * checks of `tests/helpers/browser-driver.ts`. Run with `npm run test:webkit`.
 *
 * Every iOS browser is WebKit, so this is the suite that stands for Safari:
 * no `SyncManager`, a worker stopped ~10 s after its last page is gone even
 * with a waitUntil pending.
 *
 * The browser is tests/webkit/browser.py (PyGObject), not MiniBrowser:
 * MiniBrowser's automation mode keeps no data across launches, and the
 * suite needs a profile that survives a SIGKILL. Each test gets its own
 * Xvfb display (WebKitGTK has no headless mode) and its own driver; each
 * launch of the browser is a new WebDriver session on the same profile.
 *
 * Rules of a session (WebDriver has one current window per session):
 * - Every command that targets a page runs in {@link WebKitBrowser.run},
 *   which queues it and switches to the page's window first, so two pages'
 *   commands never interleave with a switch in between.
 * - The session's first window stays open on about:blank: closing the last
 *   window would end the session, and a blank window wakes no worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ROOT, TestServer, waitFor } from '../../helpers/server.js';
import type { BrowserPage } from '../../helpers/browser-driver.js';
import type { NetworkNamespace } from './netns.js';

export { waitFor };

/** WebKitGTK's WebDriver (Debian's webkit2gtk-driver) unless `WEBKIT_DRIVER_PATH` says otherwise. */
export const WEBKIT_DRIVER_PATH = process.env.WEBKIT_DRIVER_PATH || '/usr/bin/WebKitWebDriver';
/** Debian's Python, which has python3-gi (a pyenv or venv python on PATH may not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
/** The browser program the driver starts. */
export const BROWSER_PROGRAM = join(ROOT, 'tests/webkit/browser.py');
/** Its application name; the driver refuses a session whose browserName differs. */
export const BROWSER_NAME = 'sw-ingest-webkit';

/** Generous: two cores are shared with other test runs. */
export const LAUNCH_TIMEOUT_MS = 60_000;
/** WebDriver's script timeout: how long one evaluate may await. */
export const SCRIPT_TIMEOUT_MS = 180_000;
/** Time limit of one test. */
export const TEST_TIMEOUT_MS = 240_000;

/** A WebDriver error answer, with its W3C error code (`no such window`, `javascript error`, …). */
export class WebDriverError extends Error {
  constructor(readonly code: string, message: string, readonly command: string) {
    super(`${command}: ${code}: ${message}`);
  }
}

/** One WebKitWebDriver (and the Xvfb display it runs on); sessions come and go on it. */
export class WebKitDriver {
  private constructor(
    /** Where the driver answers, as this process reaches it. */
    readonly url: string,
    private readonly processes: ChildProcess[],
    private readonly output: { text: string },
  ) {}

  /** The output of Xvfb, the driver and the browser so far, for failure reports. */
  get stderr(): string {
    return this.output.text;
  }

  /**
   * Starts Xvfb on a free display and WebKitWebDriver on it. With a
   * `namespace`, both run inside it (the browser the driver starts too) and
   * the driver is reached through the namespace's relay.
   */
  static async start(options: { namespace?: NetworkNamespace } = {}): Promise<WebKitDriver> {
    const ns = options.namespace;
    const prefix = ns ? ns.execPrefix : [];
    const processes: ChildProcess[] = [];
    const output = { text: '' };
    const run = (cmd: string, args: string[], extra: { env?: NodeJS.ProcessEnv; fd3?: boolean } = {}): ChildProcess => {
      const [file, ...rest] = [...prefix, cmd, ...args];
      const child = spawn(file!, rest, {
        stdio: ['ignore', 'pipe', 'pipe', ...(extra.fd3 ? ['pipe' as const] : [])],
        env: extra.env ?? process.env,
      });
      child.stdout!.on('data', (d: Buffer) => { output.text += d.toString(); });
      child.stderr!.on('data', (d: Buffer) => { output.text += d.toString(); });
      processes.push(child);
      return child;
    };
    const cleanUp = (): void => { for (const p of processes) p.kill('SIGKILL'); };
    try {
      // -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
      const xvfb = run('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { fd3: true });
      const display = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`Xvfb did not start: ${output.text}`)), LAUNCH_TIMEOUT_MS);
        (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) {
            clearTimeout(timer);
            resolve(`:${out.trim()}`);
          }
        });
        xvfb.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`Xvfb exited with ${code}: ${output.text}`));
        });
      });
      const port = ns ? ns.driverPort : await freePort();
      const driver = run(WEBKIT_DRIVER_PATH, [`--port=${port}`], { env: { ...process.env, DISPLAY: display } });
      driver.once('exit', (code, signal) => { output.text += `\n[WebKitWebDriver exited: ${code ?? signal}]\n`; });
      const url = ns ? `http://127.0.0.1:${await ns.exposeDriver()}` : `http://127.0.0.1:${port}`;
      const self = new WebKitDriver(url, processes, output);
      await waitFor(async () => {
        try {
          return (await fetch(`${url}/status`)).ok;
        } catch {
          return false;
        }
      }, LAUNCH_TIMEOUT_MS, `WebKitWebDriver at ${url}`);
      return self;
    } catch (e) {
      cleanUp();
      throw e;
    }
  }

  /** Sends one WebDriver command; resolves with the answer's `value`. */
  async command<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const what = `${method} ${path}`;
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: method === 'POST' ? { 'content-type': 'application/json; charset=utf-8' } : {},
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    });
    const text = await res.text();
    let json: { value?: { error?: string; message?: string } & Record<string, unknown> } | undefined;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WebDriverError('invalid answer', `HTTP ${res.status}: ${text.slice(0, 200)}`, what);
    }
    if (!res.ok || typeof json?.value?.error === 'string') {
      throw new WebDriverError(json?.value?.error ?? `HTTP ${res.status}`, json?.value?.message ?? text.slice(0, 200), what);
    }
    return json!.value as T;
  }

  /** Starts the browser on `profileDir` in a new session. */
  async launch(profileDir: string): Promise<WebKitBrowser> {
    const pidFile = join(profileDir, 'browser.pid');
    rmSync(pidFile, { force: true });
    const started = Date.now();
    const { sessionId } = await this.command<{ sessionId: string }>('POST', '/session', {
      capabilities: {
        alwaysMatch: {
          browserName: BROWSER_NAME,
          'webkitgtk:browserOptions': {
            binary: SYSTEM_PYTHON,
            args: [BROWSER_PROGRAM, '--automation', '--profile', profileDir, '--pid-file', pidFile],
          },
          timeouts: { script: SCRIPT_TIMEOUT_MS, pageLoad: LAUNCH_TIMEOUT_MS, implicit: 0 },
        },
      },
    });
    await waitFor(async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '', 10_000, 'the browser to write its pid');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const handle = await this.command<string>('GET', `/session/${sessionId}/window`);
    return new WebKitBrowser(this, sessionId, profileDir, pid, handle, Date.now() - started);
  }

  /** Stops the driver and its display (and anything they left running). */
  async stop(): Promise<void> {
    for (const p of [...this.processes].reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** A running browser: one WebDriver session on a profile directory that outlives it. */
export class WebKitBrowser {
  /** The window the session opened with, kept on about:blank so that closing a page never closes the last window. */
  readonly blankWindow: string;
  private current: string;
  private queue: Promise<unknown> = Promise.resolve();
  private dead = false;

  constructor(
    readonly driver: WebKitDriver,
    readonly sessionId: string,
    /** The profile directory; relaunch on it to reopen the same IndexedDB and service worker registrations. */
    readonly profileDir: string,
    /** The pid of the browser program (its WebKit processes are its children). */
    readonly pid: number,
    firstWindow: string,
    /** How long the launch took. */
    readonly launchMs: number,
  ) {
    this.blankWindow = firstWindow;
    this.current = firstWindow;
  }

  /** A session command (`path` is relative to `/session/{id}`). */
  command<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return this.driver.command<T>(method, `/session/${this.sessionId}${path}`, body);
  }

  /** Runs `fn` with `handle` as the current window, after every command queued before it. */
  run<T>(handle: string, fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.dead) throw new Error('the browser is not running (killed or closed)');
      if (this.current !== handle) {
        await this.command('POST', '/window', { handle });
        this.current = handle;
      }
      return fn();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Opens a new window (a new WebView in its own Gtk window) and returns it as a page. */
  async newPage(): Promise<WebKitPage> {
    // From the current window, or the blank one when the current was closed (WebDriver needs one).
    const { handle } = await this.run(this.current || this.blankWindow, () => this.command<{ handle: string }>('POST', '/window/new', { type: 'window' }));
    return new WebKitPage(this, handle);
  }

  /** @internal Forgets that `handle` was current (it was closed). */
  closed(handle: string): void {
    if (this.current === handle) this.current = '';
  }

  /**
   * Kills the browser program with SIGKILL, as a crash or the OOM killer
   * would, and waits until it and its WebKit processes (network, web, GPU)
   * are gone. The session dies with it.
   */
  async kill(): Promise<void> {
    const family = [this.pid, ...descendants(this.pid)];
    this.dead = true;
    try { process.kill(this.pid, 'SIGKILL'); } catch { /* gone already */ }
    await waitFor(async () => !alive(this.pid), 10_000, 'the browser to exit');
    // Its children notice the closed IPC sockets and exit; make sure.
    await waitFor(async () => family.every((p) => !alive(p)), 10_000, 'the WebKit processes to exit').catch(() => {
      for (const p of family) { try { process.kill(p, 'SIGKILL'); } catch { /* gone meanwhile */ } }
    });
    await this.driver.command('DELETE', `/session/${this.sessionId}`).catch(() => undefined);
  }

  /** Ends the session (the browser quits); kills it if it does not. Best effort: it may be dead already. */
  async close(): Promise<void> {
    if (!this.dead) {
      this.dead = true;
      await this.queue;
      await this.driver.command('DELETE', `/session/${this.sessionId}`).catch(() => undefined);
    }
    const family = [this.pid, ...descendants(this.pid)];
    await waitFor(async () => !alive(this.pid), 10_000, 'the browser to quit').catch(() => undefined);
    for (const p of family) { try { if (alive(p)) process.kill(p, 'SIGKILL'); } catch { /* gone meanwhile */ } }
  }
}

/** A window of the browser, as a {@link BrowserPage} plus what only WebDriver does (minimize, close). */
export class WebKitPage implements BrowserPage {
  constructor(readonly browser: WebKitBrowser, readonly handle: string) {}

  /** Navigates this window to `url` and waits for the load (pageLoadStrategy "normal"). */
  goto(url: string): Promise<void> {
    return this.browser.run(this.handle, async () => { await this.browser.command('POST', '/url', { url }); });
  }

  /**
   * Runs `fn` in the page (WebDriver "execute async script"), awaiting what
   * it returns. `fn` travels as source text: it may use only its arguments
   * and the page's globals. Arguments and result travel as JSON (an
   * `undefined` result arrives as null).
   */
  evaluate<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, ...args: A): Promise<R> {
    // tsx (esbuild, keepNames) may wrap named functions in __name(); the page has no such helper.
    const script = `const __name = (f) => f;
const done = arguments[arguments.length - 1];
const args = Array.prototype.slice.call(arguments, 0, -1);
Promise.resolve().then(() => (${fn.toString()}).apply(null, args)).then(
  (value) => done({ ok: true, value: value === undefined ? null : value }),
  (e) => done({ ok: false, error: String((e && e.stack) || e) + (e && e.code ? ' [code ' + e.code + ']' : '') }));`;
    return this.browser.run(this.handle, async () => {
      const result = await this.browser.command<{ ok: boolean; value?: R; error?: string }>('POST', '/execute/async', { script, args });
      if (!result.ok) throw new Error(`in the page: ${result.error}`);
      return result.value as R;
    });
  }

  /** `document.visibilityState` of the page. */
  visibility(): Promise<string> {
    return this.evaluate(() => document.visibilityState as string);
  }

  /** Minimizes the window: WebKitGTK hides the page (visibilitychange to hidden). */
  minimize(): Promise<void> {
    return this.browser.run(this.handle, async () => { await this.browser.command('POST', '/window/minimize'); });
  }

  /** Maximizes the window: the page is visible again. */
  maximize(): Promise<void> {
    return this.browser.run(this.handle, async () => { await this.browser.command('POST', '/window/maximize'); });
  }

  /** Closes the window (the session goes on with its other windows). */
  close(): Promise<void> {
    return this.browser.run(this.handle, async () => {
      await this.browser.command('DELETE', '/window');
      this.browser.closed(this.handle);
    });
  }
}

/** Whether `pid` runs (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of `pid`'s children, grandchildren, … (from /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = [];
  const visit = (p: number): void => { for (const c of parents.get(p) ?? []) { out.push(c); visit(c); } };
  visit(pid);
  return out;
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
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

/** What each WebKit test gets: a real server, a browser on a profile of its own, and clean-up of all. */
export interface WebKitTest {
  server: TestServer;
  driver: WebKitDriver;
  /** The running browser (the latest launch). */
  browser: WebKitBrowser;
  /** Opens a window of the browser. */
  newPage(): Promise<WebKitPage>;
  /** Ends the browser (if still running) and launches it again on the same profile, in a new session. */
  relaunch(): Promise<WebKitBrowser>;
}

/** Options of {@link webkitTest}. */
export interface WebKitTestOptions {
  /** The reason to skip it (a known bug), or false. */
  skip?: string | false;
  /**
   * Runs the browser inside the network namespace this makes once the
   * server has started (see netns.ts); where it resolves with `{skip}`
   * instead, the test is skipped with that reason.
   */
  namespace?: (server: TestServer) => Promise<NetworkNamespace | { skip: string }>;
}

/**
 * A node:test test with a fresh server, driver and browser, torn down
 * afterwards (the profile directory too). On failure the server's stderr
 * and the driver's and browser's output are printed.
 */
export function webkitTest(
  name: string,
  body: (ctx: WebKitTest, t: TestContext & { namespace?: NetworkNamespace }) => Promise<void>,
  options: WebKitTestOptions = {},
): void {
  test(name, { timeout: TEST_TIMEOUT_MS, skip: options.skip ?? false }, async (t) => {
    await builtFiles();
    const server = await new TestServer().start();
    const profileDir = mkdtempSync(join(tmpdir(), 'sw-ingest-webkit-'));
    let namespace: NetworkNamespace | undefined;
    let driver: WebKitDriver | undefined;
    let browser: WebKitBrowser | undefined;
    try {
      const made = await options.namespace?.(server);
      if (made && 'skip' in made) {
        t.skip(made.skip);
        return;
      }
      namespace = made;
      driver = await WebKitDriver.start({ namespace });
      browser = await driver.launch(profileDir);
      t.diagnostic(`browser launched in ${browser.launchMs} ms`);
      const ctx: WebKitTest = {
        server,
        driver,
        get browser() { return browser!; },
        newPage: () => browser!.newPage(),
        async relaunch() {
          await browser!.close();
          browser = await driver!.launch(profileDir);
          t.diagnostic(`browser relaunched in ${browser.launchMs} ms`);
          return browser;
        },
      };
      await body(ctx, Object.assign(t, { namespace }));
    } catch (e) {
      console.error(`--- ${name}: server stderr ---\n${server.stderr.slice(-4_000)}`);
      console.error(`--- ${name}: driver and browser output ---\n${driver?.stderr.slice(-4_000) ?? ''}`);
      throw e;
    } finally {
      await browser?.close();
      await driver?.stop();
      await namespace?.dispose();
      rmSync(profileDir, { recursive: true, force: true });
      await server.dispose();
    }
  });
}
