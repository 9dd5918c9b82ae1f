/**
 * Whether anything still holds a test database open, seen from outside the
 * code under test: for a SQLite file, whether another connection can take
 * it exclusively; for PostgreSQL, the connections to it in
 * `pg_stat_activity`. So "closing the app closes the database" is asserted
 * on something observable, not on a flag of the store.
 */
import Database from 'better-sqlite3';
import { parseDbLocation } from '../../server/open-store.js';
import { DATABASE_URL, withClient } from './postgres.js';

/**
 * Whether some connection (in any process) still has `db` open.
 *
 * - SQLite: the server keeps its file in WAL mode, and leaving WAL mode
 *   needs the only connection: a probe connection that tries it gets
 *   SQLITE_BUSY while another is open. (When it succeeds the file is left in
 *   rollback-journal mode; a store opened on it later switches back to WAL.)
 * - PostgreSQL: a server process connected to the database. Backends exit
 *   a moment after their client hangs up, so a closed pool is waited for up
 *   to `settleMs`.
 *
 * @param db - a `sqlite:<file>` or `postgres://` value, as given to the server
 * @param settleMs - PostgreSQL: most time to wait for connections to go @default 3000
 */
export async function isDatabaseHeld(db: string, settleMs = 3000): Promise<boolean> {
  const location = parseDbLocation(db);
  if (location.kind === 'sqlite') {
    const probe = new Database(location.file, { timeout: 0, fileMustExist: true });
    try {
      probe.pragma('journal_mode = DELETE');
      return false;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return true;
      throw err;
    } finally {
      probe.close();
    }
  }
  if (DATABASE_URL === undefined) throw new Error('isDatabaseHeld: DATABASE_URL is not set');
  const name = decodeURIComponent(new URL(location.url).pathname.slice(1));
  // Connected to the admin database, so the probe itself is not counted.
  return withClient(DATABASE_URL, async (client) => {
    const deadline = Date.now() + settleMs;
    for (;;) {
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (Number(rows[0]!.n) === 0) return false;
      if (Date.now() >= deadline) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
}
