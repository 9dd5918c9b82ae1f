/**
 * PostgreSQL for tests. `DATABASE_URL` names a server and a role that may
 * create databases (`CREATEDB`; with `pg_signal_backend` too, dropping a
 * database need not wait for an autovacuum worker in it); every test server
 * gets a fresh database `swi_<random>` created through it and dropped
 * afterwards.
 *
 * The rule for running PostgreSQL tests:
 * - `DATABASE_URL` set: they run, and fail if PostgreSQL cannot be used.
 * - unset, outside CI: they are skipped, with the reason in the test output
 *   (`npm test` also says so once, before the unit tests).
 * - unset with `CI=true`: every suite that would use it fails.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The storage sinks the server tests run against. */
export type Sink = 'sqlite' | 'postgres';
export const SINKS: readonly Sink[] = ['sqlite', 'postgres'];

/** The admin-capable URL tests create their databases through, if given. */
export const DATABASE_URL: string | undefined = process.env.DATABASE_URL || undefined;

/** Whether this is a CI run (`CI=true`), where a missing PostgreSQL is a failure. */
export const IN_CI = ['true', '1', 'yes'].includes((process.env.CI ?? '').toLowerCase());

/** Why PostgreSQL tests are skipped here, shown in the test output. */
export const POSTGRES_SKIP_REASON = 'PostgreSQL tests skipped: DATABASE_URL is not set (e.g. DATABASE_URL=postgres://user:pw@127.0.0.1:5432/postgres, a role with CREATEDB and pg_signal_backend)';

/**
 * The admin URL, or — when PostgreSQL tests must not run here — undefined.
 *
 * @throws in CI (`CI=true`) when `DATABASE_URL` is not set
 */
export function postgresUrlOrSkip(): string | undefined {
  if (DATABASE_URL !== undefined) return DATABASE_URL;
  if (IN_CI) throw new Error('CI=true but DATABASE_URL is not set: PostgreSQL tests must run in CI (.ci/run sets it up)');
  return undefined;
}

/** A database made for one test. */
export interface TestDatabase {
  name: string;
  /** `DATABASE_URL` with this database's name in the path. */
  url: string;
  /** Drops the database, closing whatever is still connected to it. */
  drop(): Promise<void>;
}

/** Runs `sql` on a short-lived admin connection to `DATABASE_URL`. */
async function adminQuery(sql: string): Promise<void> {
  const url = postgresUrlOrSkip();
  if (url === undefined) throw new Error(POSTGRES_SKIP_REASON);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database `swi_<random>` in UTF-8 (from template0, so it
 * holds nothing of template1's) and returns its URL.
 *
 * @throws when `DATABASE_URL` is not set or its role may not create databases
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `swi_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  const url = new URL(DATABASE_URL!);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      for (let attempt = 1; ; attempt++) {
        try {
          await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          return;
        } catch (err) {
          // FORCE may not terminate an autovacuum worker that is busy in the
          // database (PostgreSQL 15 checks its role, which no one is a member
          // of, unless the test role has pg_signal_backend); it ends soon.
          if ((err as { code?: string }).code !== '42501' || attempt === 50) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
  };
}

/**
 * Runs `fn` with a client connected to `url` (not through the code under
 * test), and closes it.
 */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
