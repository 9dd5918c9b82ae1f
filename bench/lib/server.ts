/**
 * The real sw-ingest server for the bench: the built CLI, run from a copy
 * of `server/dist` taken when the bench starts (others may rebuild `dist/`
 * while a long run goes on), on a random port, with its own new database
 * (a SQLite file, or a fresh PostgreSQL database through `DATABASE_URL`,
 * as the tests make them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../tests/helpers/postgres.js';
import { ROOT } from './site.js';

const ADMIN_KEY = 'bench-admin-key-not-a-secret';
/** Inside the repository, so the copy resolves its packages from node_modules/. */
const SNAPSHOT = join(ROOT, 'bench/results/.server');

/** Copies the built server (waiting up to a minute if `dist/` is being rebuilt). */
export async function snapshotServer(): Promise<void> {
  const cli = join(ROOT, 'server/dist/server/cli.js');
  for (let i = 0; !existsSync(cli); i++) {
    if (i === 60) throw new Error('server/dist is not built: npm run build');
    await new Promise((r) => setTimeout(r, 1_000));
  }
  rmSync(SNAPSHOT, { recursive: true, force: true });
  cpSync(join(ROOT, 'server/dist'), SNAPSHOT, { recursive: true });
}

export class BenchServer {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'sw-ingest-bench-data-'));
  port = 0;
  /** The `--db` value. */
  db = '';
  stderr = '';
  private child: ChildProcess | undefined;
  private database: TestDatabase | undefined;

  constructor(private readonly site: string, readonly sink: 'sqlite' | 'postgres' = 'sqlite') {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (this.sink === 'postgres') {
      this.database = await createTestDatabase();
      this.db = this.database.url;
    } else {
      this.db = `sqlite:${join(this.dataDir, 'ingest.db')}`;
    }
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SW_INGEST_') && k !== 'DATABASE_URL'));
    const child = spawn(process.execPath, [
      join(SNAPSHOT, 'server/cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--db', this.db, '--data-dir', this.dataDir,
      '--schema', join(ROOT, 'tests/fixtures/schema.json'), '--static', this.site, '--admin-key', ADMIN_KEY,
    ], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on http:\/\/[\d.]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${this.stderr}`)));
    });
    return this;
  }

  /** Rows stored in `collection`, counted by the server. */
  async count(collection: string): Promise<number> {
    const res = await fetch(`${this.url}/api/admin/collections/${collection}/count`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    if (!res.ok) throw new Error(`count: HTTP ${res.status}`);
    return ((await res.json()) as { count: number }).count;
  }

  async dispose(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
    await this.database?.drop();
  }
}
