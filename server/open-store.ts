/**
 * Turns a `--db` value into a {@link Store}. Accepted forms:
 * - `sqlite:./data/ingest.db`, `sqlite:/abs/ingest.db` or `sqlite:///abs/ingest.db`
 * - `postgres://user:password@host:5432/db?sslmode=verify-full` (or `postgresql://`)
 */
import fs from 'node:fs';
import path from 'node:path';
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** The default `--db`. */
export const DEFAULT_DB = 'sqlite:./data/ingest.db';

/** A parsed `--db` value. */
export type DbLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/**
 * Parses a `--db` value.
 *
 * @param value - e.g. `sqlite:./data/ingest.db` or `postgres://…`
 * @throws Error naming the value (password hidden) when it is neither form
 */
export function parseDbLocation(value: string): DbLocation {
  if (value.startsWith('sqlite:')) {
    let file = value.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2); // sqlite:///abs/path → /abs/path
    if (file === '') throw new Error(`--db "${value}": the sqlite: form needs a file path, e.g. sqlite:./data/ingest.db`);
    return { kind: 'sqlite', file: path.resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value };
  throw new Error(`--db "${redactPassword(value)}": expected sqlite:<file> (e.g. sqlite:./data/ingest.db) or a postgres:// URL`);
}

/** `value` with the password of a `scheme://user:password@host` URL replaced by `***`, for messages. */
export function redactPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Fail when the database does not exist yet, and create or migrate nothing (for `export`). @default false */
  mustExist?: boolean;
  /** PostgreSQL: most connections. @default 10 */
  poolMax?: number;
  /** PostgreSQL: where errors of idle connections go. @default stderr */
  onIdleError?: (err: Error) => void;
  /** PostgreSQL: most time a query waits for a connection, ms. @default 5000 */
  connectionTimeoutMs?: number;
  /** PostgreSQL: `statement_timeout` of the connections, ms; 0 keeps the database's own. @default 15000 */
  statementTimeoutMs?: number;
}

/**
 * Opens the store that `location` names and brings its layout up to date.
 * For SQLite, creates the parent directory unless `mustExist`.
 *
 * @param location - from {@link parseDbLocation}
 * @param options - see {@link OpenStoreOptions}
 * @throws when the database cannot be opened or reached, or an SQLite file is
 *   not a database; the message names the database (never the password)
 */
export async function openStore(location: DbLocation, options: OpenStoreOptions = {}): Promise<Store> {
  if (location.kind === 'postgres') {
    try {
      return await PostgresStore.open(location.url, {
        mustExist: options.mustExist ?? false,
        ...(options.poolMax === undefined ? {} : { poolMax: options.poolMax }),
        ...(options.onIdleError === undefined ? {} : { onIdleError: options.onIdleError }),
        ...(options.connectionTimeoutMs === undefined ? {} : { connectionTimeoutMs: options.connectionTimeoutMs }),
        ...(options.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: options.statementTimeoutMs }),
      });
    } catch (err) {
      throw new Error(`PostgreSQL ${describePostgresUrl(location.url)}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (options.mustExist) {
    if (!fs.existsSync(location.file)) throw new Error(`database ${location.file} does not exist`);
  } else {
    fs.mkdirSync(path.dirname(location.file), { recursive: true });
  }
  try {
    return new SqliteStore(location.file, { fileMustExist: options.mustExist ?? false });
  } catch (err) {
    // SQLite reads the header only at the first statement: a text file "opens", then every statement fails.
    if ((err as { code?: unknown }).code === 'SQLITE_NOTADB') {
      const remedy = options.mustExist ? 'point --db at sw-ingest\'s database file' : 'point --db at sw-ingest\'s database file, or at a path where none exists yet to create one';
      throw new Error(`database ${location.file} is not an SQLite database (SQLITE_NOTADB): ${remedy}`, { cause: err });
    }
    throw err;
  }
}

/** `host:port/database` of a PostgreSQL URL, for messages. */
function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return redactPassword(url);
  }
}
