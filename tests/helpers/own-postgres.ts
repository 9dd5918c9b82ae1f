/**
 * A PostgreSQL cluster of one test's own, for tests that stop and start the
 * database under a running server — which the shared cluster of
 * `DATABASE_URL` must never be, as other tests use it. `initdb` into a temp
 * directory and `pg_ctl` on a free port, run as the `postgres` OS user
 * (initdb refuses root), trust authentication on 127.0.0.1 only, its socket
 * in its own directory.
 *
 * Runs where the PostgreSQL tests run (`DATABASE_URL` set, see
 * `postgres.ts`) and the server binaries and `runuser` are here; without
 * them {@link ownPostgresSkipReason} says why, and in CI that is a failure.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IN_CI, postgresUrlOrSkip, POSTGRES_SKIP_REASON } from './postgres.js';

const run = promisify(execFile);

/** Where `initdb` and `pg_ctl` are (Debian's PostgreSQL 15); `PG_BIN` overrides. */
export const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';

/**
 * Why a test that needs its own cluster cannot run here, or `false`.
 *
 * @throws in CI when the PostgreSQL tests must run but this machine cannot make a cluster
 */
export function ownPostgresSkipReason(): string | false {
  if (postgresUrlOrSkip() === undefined) return POSTGRES_SKIP_REASON;
  let missing: string | undefined;
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl'))) missing = `no initdb/pg_ctl in ${PG_BIN} (set PG_BIN)`;
  else if (process.getuid?.() !== 0) missing = 'running initdb as the postgres user needs root';
  if (missing === undefined) return false;
  if (IN_CI) throw new Error(`CI=true but this test cannot make its own PostgreSQL cluster: ${missing}`);
  return `needs a PostgreSQL cluster of its own: ${missing}`;
}

/** A free TCP port on 127.0.0.1 (free when asked; nothing holds it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A running (or stopped) cluster of {@link startOwnPostgres}. */
export interface OwnPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  url: string;
  port: number;
  /** Stops the cluster: `immediate` is a crash (no checkpoint, connections cut at once). */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts it again on the same port and data, and waits until it accepts connections. */
  start(): Promise<void>;
  /** The server log so far, for failure messages. */
  log(): string;
  /** Stops it if running and removes its directory. */
  dispose(): Promise<void>;
}

/**
 * Creates a cluster in a temp directory and starts it on a free port.
 *
 * @example
 * ```ts
 * const pg = await startOwnPostgres();
 * await pg.stop('immediate');
 * await pg.start();
 * await pg.dispose();
 * ```
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-own-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  chownSync(dir, Number(uid), Number(gid));
  const asPostgres = (bin: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args], { cwd: dir });

  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  // Durability stays at the defaults (fsync on): the test asks what survives a crash.
  writeFileSync(join(data, 'postgresql.conf'), [
    readFileSync(join(data, 'postgresql.conf'), 'utf8'),
    `port = ${port}`, `listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${dir}'`, 'max_connections = 40', '',
  ].join('\n'));
  let running = false;
  const cluster: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop(mode = 'fast') {
      await asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
      running = false;
    },
    async start() {
      await asPostgres('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
      running = true;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async dispose() {
      if (running) await cluster.stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
