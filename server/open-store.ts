/**
 * Turns a `--db` value into a {@link Store}. Accepted forms:
 * - `sqlite:./data/ingest.db`, `sqlite:/abs/ingest.db` or `sqlite:///abs/ingest.db`
 * - `postgres://…` / `postgresql://…`: recognised, but not built yet
 */
import fs from 'node:fs';
import path from 'node:path';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** The default `--db`. */
export const DEFAULT_DB = 'sqlite:./data/ingest.db';

/** A parsed `--db` value. */
export type DbLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/**
 * Parses a `--db` value.
 *
 * @param value - e.g. `sqlite:./data/ingest.db`
 * @throws Error naming the value when it is neither form
 */
export function parseDbLocation(value: string): DbLocation {
  if (value.startsWith('sqlite:')) {
    let file = value.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2); // sqlite:///abs/path → /abs/path
    if (file === '') throw new Error(`--db "${value}": the sqlite: form needs a file path, e.g. sqlite:./data/ingest.db`);
    return { kind: 'sqlite', file: path.resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value };
  throw new Error(`--db "${value}": expected sqlite:<file> (e.g. sqlite:./data/ingest.db) or a postgres:// URL`);
}

/**
 * Opens the store that `location` names. For SQLite, creates the parent
 * directory unless `mustExist`.
 *
 * @param location - from {@link parseDbLocation}
 * @param options - `mustExist`: fail when the database does not exist yet (for `export`)
 * @throws for PostgreSQL, which is not built yet; or when SQLite cannot open the file
 */
export function openStore(location: DbLocation, options: { mustExist?: boolean } = {}): Store {
  if (location.kind === 'postgres') {
    throw new Error('PostgreSQL support is not built yet; use --db sqlite:<file> for now');
  }
  if (options.mustExist) {
    if (!fs.existsSync(location.file)) throw new Error(`database ${location.file} does not exist`);
  } else {
    fs.mkdirSync(path.dirname(location.file), { recursive: true });
  }
  return new SqliteStore(location.file, { fileMustExist: options.mustExist ?? false });
}
