/**
 * Starts the real sw-ingest server (the built CLI, as a user runs it) in a
 * child process on a random port, with its own data directory, serving the
 * test page and the built browser files. Can be stopped and restarted on the
 * same port and database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EJSON, type Document } from 'bson';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ADMIN_KEY = 'test-admin-key-not-a-secret';
const DIST = join(ROOT, 'dist');

/** A directory with the test page and the built files, as a user's site would hold them. */
export function makeSite(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-site-'));
  copyFileSync(join(ROOT, 'tests/fixtures/site/index.html'), join(dir, 'index.html'));
  for (const f of ['sw-ingest.iife.js', 'sw-ingest-sw.js']) copyFileSync(join(DIST, f), join(dir, f));
  return dir;
}

export interface ServerOptions {
  schemaFile?: string;
  /** Serve this directory instead of the test page (e.g. `dist/demo`). */
  staticDir?: string;
  extraArgs?: string[];
}

export class TestServer {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'sw-ingest-data-'));
  readonly siteDir: string;
  port = 0;
  private child: ChildProcess | undefined;

  constructor(private readonly options: ServerOptions = {}) {
    this.siteDir = options.staticDir ?? makeSite();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server (on the same port as before, after a stop). */
  async start(): Promise<this> {
    mkdirSync(this.dataDir, { recursive: true });
    const args = [
      join(ROOT, 'bin/sw-ingest.js'), 'serve',
      '--port', String(this.port), '--host', '127.0.0.1',
      '--db', `sqlite:${join(this.dataDir, 'ingest.db')}`,
      '--schema', this.options.schemaFile ?? join(ROOT, 'tests/fixtures/schema.json'),
      '--static', this.siteDir,
      '--admin-key', ADMIN_KEY,
      ...(this.options.extraArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    this.port = await new Promise<number>((resolvePort, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /sw-ingest listening on http:\/\/[\d.]+:(\d+)/.exec(out);
        if (m) resolvePort(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
    });
    return this;
  }

  /** Stops the server: SIGTERM, or SIGKILL for a crash. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    this.child = undefined;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
    if (!this.options.staticDir) rmSync(this.siteDir, { recursive: true, force: true });
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
