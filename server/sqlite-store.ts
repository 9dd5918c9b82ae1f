/**
 * The embedded default sink: one SQLite file through better-sqlite3.
 *
 * - WAL, so exports and `sw-ingest export` read while uploads write.
 * - `synchronous=FULL`: a reply to an upload promises that its rows survive a
 *   power cut, and in WAL mode only FULL fsyncs the log on every commit.
 * - The layout is versioned: {@link MIGRATIONS} is applied on open, each step
 *   in its own transaction, and recorded in `schema_migrations`.
 * - A disk that is full or failing, a file made read-only, or a write lock
 *   held by another process past the busy timeout fail the call with
 *   {@link DatabaseUnavailableError} (answered 503, and the device
 *   retries); see {@link isSqliteUnavailable}. SQLite rolls the transaction
 *   back, so such a failed batch stored nothing, and the same connection
 *   serves the next call once the disk has room again.
 */
import Database from 'better-sqlite3';
import {
  DatabaseUnavailableError,
  type ApiKeyInfo, type CollectionStats, type ExportedRow, type InsertOutcome, type LiveSession, type NewApiKey, type NewSession,
  type RecentDoc, type Store, type StoredRow,
} from './store.js';

/** The database layout, one step per version; append, never edit. */
export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE records (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        doc BLOB NOT NULL,
        owner TEXT NOT NULL,
        client_id TEXT NOT NULL,
        ingested_at INTEGER NOT NULL,
        sent_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (collection, id)
      ) WITHOUT ROWID;
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        refresh_token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );`,
  },
  {
    // Issue 5: a user may have several sessions (API-key and JWT users log in
    // from many devices), each revocable; API keys, stored hashed. Every
    // anonymous user of version 1 becomes one session whose id is the user id.
    version: 2,
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        user_id TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        refresh_token_hash TEXT NOT NULL UNIQUE,
        api_key_id TEXT REFERENCES api_keys (id),
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      );
      CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
      CREATE INDEX sessions_api_key_id ON sessions (api_key_id) WHERE api_key_id IS NOT NULL;
      INSERT INTO sessions (id, user_id, refresh_token_hash, created_at)
        SELECT id, id, refresh_token_hash, created_at FROM users;
      DROP TABLE users;`,
  },
];

/** Rows per page of {@link SqliteStore.exportRows}. */
const EXPORT_PAGE_ROWS = 1000;

/** How long a write waits for another connection's write lock before it fails (SQLite's `busy_timeout`), in ms. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Fail instead of creating an empty database (for `sw-ingest export`). @default false */
  fileMustExist?: boolean;
}

/** A {@link Store} on one SQLite file. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly insertRow: Database.Statement;
  private readonly insertAll: (rows: readonly StoredRow[]) => InsertOutcome[];

  /**
   * Opens (or creates) the database and brings its layout up to date.
   *
   * @param file - path of the database file; its directory must exist
   * @param options - see {@link SqliteStoreOptions}
   * @throws if the file was written by a newer sw-ingest
   */
  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.db = new Database(file, { fileMustExist: options.fileMustExist ?? false });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // Another process (the CLI's export, a second server) may hold the write lock briefly.
      this.db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      migrate(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.insertRow = this.db.prepare(
      `INSERT INTO records (collection, id, doc, owner, client_id, ingested_at, sent_at, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collection, id) DO NOTHING`,
    );
    const tx = this.db.transaction((rows: readonly StoredRow[]) =>
      rows.map((r): InsertOutcome =>
        this.insertRow.run(r.collection, r.id, toBuffer(r.doc), r.owner, r.clientId, r.ingestedAt, r.sentAt, r.receivedAt)
          .changes === 1 ? 'stored' : 'duplicate',
      ),
    );
    // IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
    this.insertAll = (rows) => tx.immediate(rows);
  }

  /** @inheritDoc Store.insertBatch */
  async insertBatch(rows: readonly StoredRow[]): Promise<InsertOutcome[]> {
    if (rows.length === 0) return [];
    return guard(() => this.insertAll(rows)); // better-sqlite3 returns after COMMIT, fsync included
  }

  /** @inheritDoc Store.count */
  async count(collection: string): Promise<number> {
    const row = guard(() => this.db.prepare('SELECT COUNT(*) AS n FROM records WHERE collection = ?').get(collection) as { n: number });
    return row.n;
  }

  /**
   * @inheritDoc Store.exportRows
   *
   * Pages by primary key (keyset pagination) instead of holding one cursor
   * open: better-sqlite3 refuses every other statement on a connection while
   * an iterator is open, which would stall uploads behind a slow download.
   * TEXT compares with SQLite's BINARY collation: byte by byte in UTF-8.
   */
  async *exportRows(collection: string): AsyncIterable<ExportedRow> {
    const page = guard(() => this.db.prepare(
      `SELECT id, doc, owner, client_id, ingested_at, sent_at, received_at
       FROM records WHERE collection = ? AND id > ? ORDER BY id LIMIT ?`,
    ));
    let after = '';
    for (;;) {
      const rows = guard(() => page.all(collection, after, EXPORT_PAGE_ROWS)) as {
        id: string; doc: Buffer; owner: string; client_id: string; ingested_at: number; sent_at: number; received_at: number;
      }[];
      for (const r of rows) {
        yield { doc: r.doc, owner: r.owner, clientId: r.client_id, ingestedAt: r.ingested_at, sentAt: r.sent_at, receivedAt: r.received_at };
      }
      if (rows.length < EXPORT_PAGE_ROWS) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** @inheritDoc Store.collectionStats */
  async collectionStats(): Promise<CollectionStats[]> {
    const rows = guard(() => this.db
      .prepare('SELECT collection, COUNT(*) AS n, MAX(received_at) AS last FROM records GROUP BY collection ORDER BY collection')
      .all()) as { collection: string; n: number; last: number }[];
    return rows.map((r) => ({ collection: r.collection, count: r.n, lastReceivedAt: r.last }));
  }

  /** @inheritDoc Store.recentDocs */
  async recentDocs(limit: number): Promise<RecentDoc[]> {
    // A full scan; only the demo asks, on demo-sized databases.
    const rows = guard(() => this.db
      .prepare('SELECT collection, doc, received_at FROM records ORDER BY received_at DESC, id DESC LIMIT ?')
      .all(limit)) as { collection: string; doc: Buffer; received_at: number }[];
    return rows.map((r) => ({ collection: r.collection, doc: r.doc, receivedAt: r.received_at }));
  }

  /** @inheritDoc Store.createSession */
  async createSession(s: NewSession): Promise<void> {
    guard(() => this.db.prepare('INSERT INTO sessions (id, user_id, refresh_token_hash, api_key_id, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(s.id, s.userId, s.refreshTokenHash, s.apiKeyId ?? null, s.createdAt));
  }

  /** @inheritDoc Store.findSession */
  async findSession(refreshTokenHash: string): Promise<LiveSession | undefined> {
    return guard(() => this.db.prepare(
      `SELECT s.id, s.user_id AS userId FROM sessions s LEFT JOIN api_keys k ON k.id = s.api_key_id
       WHERE s.refresh_token_hash = ? AND s.revoked_at IS NULL AND k.revoked_at IS NULL`,
    ).get(refreshTokenHash)) as LiveSession | undefined;
  }

  /** @inheritDoc Store.revokeSession */
  async revokeSession(refreshTokenHash: string, at: number): Promise<string | undefined> {
    const row = guard(() => this.db.prepare('UPDATE sessions SET revoked_at = ? WHERE refresh_token_hash = ? AND revoked_at IS NULL RETURNING id')
      .get(at, refreshTokenHash)) as { id: string } | undefined;
    return row?.id;
  }

  /** @inheritDoc Store.revokedSessionIds */
  async revokedSessionIds(since: number): Promise<string[]> {
    // The second half catches a session created while its key was being revoked.
    const rows = guard(() => this.db.prepare(
      `SELECT id FROM sessions WHERE revoked_at >= ?
       UNION SELECT s.id FROM api_keys k JOIN sessions s ON s.api_key_id = k.id WHERE k.revoked_at >= ?`,
    ).all(since, since)) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** @inheritDoc Store.createApiKey */
  async createApiKey(k: NewApiKey): Promise<void> {
    guard(() => this.db.prepare('INSERT INTO api_keys (id, name, user_id, key_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(k.id, k.name, k.userId, k.keyHash, k.createdAt));
  }

  /** @inheritDoc Store.findApiKey */
  async findApiKey(keyHash: string): Promise<{ id: string; userId: string } | undefined> {
    return guard(() => this.db.prepare('SELECT id, user_id AS userId FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL')
      .get(keyHash)) as { id: string; userId: string } | undefined;
  }

  /** @inheritDoc Store.listApiKeys */
  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return guard(() => this.db.prepare(
      'SELECT id, name, user_id AS userId, created_at AS createdAt, revoked_at AS revokedAt FROM api_keys ORDER BY created_at, id',
    ).all()) as ApiKeyInfo[];
  }

  /** @inheritDoc Store.revokeApiKey */
  async revokeApiKey(id: string, at: number): Promise<{ sessions: number; alreadyRevoked: boolean } | undefined> {
    return guard(() => this.db.transaction(() => {
      const key = this.db.prepare('SELECT revoked_at FROM api_keys WHERE id = ?').get(id) as { revoked_at: number | null } | undefined;
      if (key === undefined) return undefined;
      if (key.revoked_at !== null) return { sessions: 0, alreadyRevoked: true };
      this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(at, id);
      const { changes } = this.db.prepare('UPDATE sessions SET revoked_at = ? WHERE api_key_id = ? AND revoked_at IS NULL').run(at, id);
      return { sessions: changes, alreadyRevoked: false };
    }).immediate());
  }

  /** @inheritDoc Store.close */
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/**
 * Whether `err`, thrown by better-sqlite3, means that the database cannot
 * serve the call now but may once the disk or the lock is free, rather than
 * that the call is wrong: `SQLITE_FULL` (disk full), `SQLITE_BUSY*` and
 * `SQLITE_LOCKED*` (the busy timeout ran out), `SQLITE_IOERR*` (a failing
 * disk) and `SQLITE_READONLY*` (the file or its directory made read-only).
 *
 * @param err - what better-sqlite3 threw (a `SqliteError` carries the extended result code)
 */
export function isSqliteUnavailable(err: unknown): boolean {
  const code = err instanceof Database.SqliteError ? err.code : undefined;
  return code !== undefined && /^SQLITE_(FULL|BUSY|LOCKED|IOERR|READONLY)(_|$)/.test(code);
}

/** Runs one synchronous call on the database, with "not now" errors as {@link DatabaseUnavailableError}. */
function guard<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (!isSqliteUnavailable(err)) throw err;
    throw new DatabaseUnavailableError(`SQLite is unavailable: ${(err as Error).message} (${(err as { code: string }).code})`, { cause: err });
  }
}

/** Applies the steps of {@link MIGRATIONS} that the file has not seen yet. */
function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  if (current > latest) {
    throw new Error(`database layout version ${current} is newer than this sw-ingest knows (${latest}); upgrade sw-ingest`);
  }
  for (const step of MIGRATIONS) {
    if (step.version <= current) continue;
    db.transaction(() => {
      db.exec(step.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(step.version, Date.now());
    }).immediate();
  }
}

/** better-sqlite3 binds Buffers as BLOBs; a plain Uint8Array it rejects. */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

