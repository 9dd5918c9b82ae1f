/**
 * `--db` for the verbs that read the database directly (`export`, `stats`,
 * `keys`): the same row as `serve`'s — `--db`, else `SW_INGEST_DB`, else
 * `DATABASE_URL`, else the default — and the same messages.
 */
import { parseDbLocation, type DbLocation } from '../open-store.js';
import { findOptions, parseFoundOptions, type ParsedValues } from './options.js';
import { DB_OPTION } from './serve-options.js';

/**
 * The database the verb works on.
 *
 * @param values - what parseArgs returned (its `db`)
 * @param environment - @default process.env
 * @throws UsageError for a value that is neither `sqlite:<file>` nor a `postgres://` URL
 */
export async function chooseDatabase(values: ParsedValues, environment: NodeJS.ProcessEnv = process.env): Promise<DbLocation> {
  const settings = await parseFoundOptions(findOptions([DB_OPTION], values, environment)) as { server: { db: string } };
  return parseDbLocation(settings.server.db);
}
