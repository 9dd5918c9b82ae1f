/**
 * Starts the real sw-ingest server (the built CLI, as a user runs it) in a
 * child process on a random port, with its own data directory and its own
 * database, serving the test page and the built browser files. Can be
 * stopped and restarted on the same port and database.
 *
 * The sink (SQLite file or PostgreSQL database) is, in this order: the
 * `sink` option; the `sink` of the running Playwright project's metadata
 * (projects `sqlite` and `postgres` in playwright.config.ts); the env
 * `SW_INGEST_TEST_SINK`; else `sqlite`. For PostgreSQL each server creates
 * a fresh database through `DATABASE_URL` on its first start and drops it on
 * `dispose()` — unless it was given a shared `db`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from '@playwright/test';
import { EJSON, type Document } from 'bson';
import { createTestDatabase, SINKS, type Sink, type TestDatabase } from './postgres.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ADMIN_KEY = 'test-admin-key-not-a-secret';
/** The server's default Content-Security-Policy, plus the test page's inline script. */
export const TEST_PAGE_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";
const DIST = join(ROOT, 'dist');
const CLI = join(ROOT, 'server/bin/sw-ingest.js');

/** A directory with the test page and the built files, as a user's site would hold them. */
export function makeSite(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-site-'));
  copyFileSync(join(ROOT, 'tests/fixtures/site/index.html'), join(dir, 'index.html'));
  for (const f of ['sw-ingest.iife.js', 'sw-ingest-sw.js']) copyFileSync(join(DIST, f), join(dir, f));
  return dir;
}

/** The sink of a server given none: Playwright project metadata, then `SW_INGEST_TEST_SINK`, then sqlite. */
export function defaultSink(): Sink {
  let fromProject: unknown;
  try {
    fromProject = test.info().project.metadata?.sink;
  } catch {
    // Not inside a Playwright test (node:test, or a Playwright hook without test info).
  }
  const sink = fromProject ?? (process.env.SW_INGEST_TEST_SINK || 'sqlite');
  if (!SINKS.includes(sink as Sink)) throw new Error(`unknown test sink "${String(sink)}"; expected ${SINKS.join(' or ')}`);
  return sink as Sink;
}

export interface ServerOptions {
  schemaFile?: string;
  /** Serve this directory instead of the test page (e.g. `demo/dist`); `false` serves no files. */
  staticDir?: string | false;
  extraArgs?: string[];
  /** Where records go. @default defaultSink() */
  sink?: Sink;
  /** A `--db` to share with other servers; not dropped by `dispose()`. Implies its sink. */
  db?: string;
  /** Extra environment variables of the server process. */
  env?: Record<string, string>;
  /** The server's CLI script to run (the bench runs a snapshot of the build). @default server/bin/sw-ingest.js */
  cli?: string;
}

export class TestServer {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'sw-ingest-data-'));
  /** The directory served at `/` ('' with `staticDir: false`). */
  readonly siteDir: string;
  readonly sink: Sink;
  port = 0;
  /** The server's stderr so far (all runs), for diagnosing failures. */
  stderr = '';
  private child: ChildProcess | undefined;
  private database: TestDatabase | undefined;
  private dbValue: string | undefined;

  constructor(private readonly options: ServerOptions = {}) {
    this.siteDir = options.staticDir === false ? '' : options.staticDir ?? makeSite();
    this.sink = options.db !== undefined ? (options.db.startsWith('sqlite:') ? 'sqlite' : 'postgres') : options.sink ?? defaultSink();
    this.dbValue = options.db;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The `--db` value (known after the first start): `sqlite:<file>` or a `postgres://` URL. */
  get db(): string {
    if (this.dbValue === undefined) throw new Error('the server has not been started yet');
    return this.dbValue;
  }

  /** The process id of the running server. */
  get pid(): number {
    if (this.child?.pid === undefined) throw new Error('the server is not running');
    return this.child.pid;
  }

  /** Starts the server (on the same port and database as before, after a stop). */
  async start(): Promise<this> {
    mkdirSync(this.dataDir, { recursive: true });
    if (this.dbValue === undefined) {
      if (this.sink === 'postgres') {
        this.database = await createTestDatabase();
        this.dbValue = this.database.url;
      } else {
        this.dbValue = `sqlite:${join(this.dataDir, 'ingest.db')}`;
      }
    }
    const args = [
      this.options.cli ?? CLI, 'serve',
      '--port', String(this.port), '--host', '127.0.0.1',
      '--db', this.dbValue,
      '--data-dir', this.dataDir,
      '--schema', this.options.schemaFile ?? join(ROOT, 'tests/fixtures/schema.json'),
      ...(this.siteDir === '' ? [] : ['--static', this.siteDir]),
      '--admin-key', ADMIN_KEY,
      // The test page has an inline script, which the default policy forbids.
      ...(this.options.staticDir === undefined ? ['--csp', TEST_PAGE_CSP] : []),
      ...(this.options.extraArgs ?? []),
    ];
    // The developer's SW_INGEST_* and DATABASE_URL must not change what the test runs.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SW_INGEST_') && k !== 'DATABASE_URL'));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, ...this.options.env } });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.port = await new Promise<number>((resolvePort, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /sw-ingest listening on http:\/\/[\d.]+:(\d+)/.exec(out);
        if (m) resolvePort(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${this.stderr}`)));
    });
    return this;
  }

  /** Stops the server: SIGTERM, or SIGKILL for a crash. Resolves with its exit code (null when the signal killed it). */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    return this.signal(signal);
  }

  /**
   * Sends `signal` once and returns, without waiting, a promise of the exit
   * code (null when the signal killed it). Sending SIGTERM twice would kill
   * a draining server: its handler lets the second one through.
   */
  signal(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child?.exitCode ?? null);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => {
      if (this.child === child) this.child = undefined;
      r(code);
    }));
    child.kill(signal);
    return exited;
  }

  async dispose(): Promise<void> {
    // Teardown stays bounded even if a shutdown hangs (a test about shutdown checks it).
    const stopped = this.stop();
    const timer = setTimeout(() => void this.signal('SIGKILL'), 15_000);
    await stopped;
    clearTimeout(timer);
    rmSync(this.dataDir, { recursive: true, force: true });
    if (this.options.staticDir === undefined) rmSync(this.siteDir, { recursive: true, force: true });
    await this.database?.drop();
  }

  private async admin(path: string): Promise<Response> {
    const res = await fetch(`${this.url}/api/admin${path}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res;
  }

  /** Rows stored in `collection`, counted by the server. */
  async count(collection: string): Promise<number> {
    return ((await (await this.admin(`/collections/${collection}/count`)).json()) as { count: number }).count;
  }

  /** Every stored document of `collection`, from the admin export (canonical EJSON, parsed back to BSON values). */
  async exportDocs(collection: string): Promise<Document[]> {
    const text = await (await this.admin(`/collections/${collection}/export?format=canonical`)).text();
    return text.split('\n').filter((l) => l !== '').map((l) => EJSON.parse(l, { relaxed: false }) as Document);
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last value of `describe`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
