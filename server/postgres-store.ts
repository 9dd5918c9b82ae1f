/**
 * Longer than most modules (~580 lines): the whole Store contract for
 * PostgreSQL (migrations, the batch insert, sessions, keys, secrets, the
 * unavailable-database classifier) in one place, as sqlite-store.ts is for
 * SQLite.
 *
 * The PostgreSQL sink, for several sw-ingest servers on one database.
 *
 * - Its tables live in the schema `sw_ingest` ({@link PG_SCHEMA}), so they
 *   never collide with an application's own `users` table.
 * - One statement per batch: the rows travel as arrays and are inserted with
 *   `INSERT … SELECT FROM UNNEST(…) ON CONFLICT DO NOTHING RETURNING`; the
 *   keys it returns are exactly the rows *this* statement inserted, so a
 *   batch racing another with the same records answers `duplicate` for
 *   every row the other one stored. The statement runs in autocommit mode:
 *   when it returns, it has committed.
 * - The documents are stored as the same BSON bytes (`bytea`) as in SQLite,
 *   and `id` is `COLLATE "C"` (byte order in UTF-8, like SQLite's BINARY),
 *   so both sinks export the same lines in the same order.
 * - A bounded `pg.Pool`; callers wait for a free connection for at most
 *   {@link DEFAULT_PG_CONNECTION_TIMEOUT_MS}, and a statement runs for at
 *   most {@link DEFAULT_PG_STATEMENT_TIMEOUT_MS} (PostgreSQL's own
 *   `statement_timeout`, so a cancelled insert has surely committed
 *   nothing), both well inside the service worker's 30 s upload timeout.
 *   Full scans (counts, stats) run without the statement limit.
 * - Errors that mean "not now" — the database unreachable, restarting, in
 *   recovery, out of connections or disk, too slow, read-only during a
 *   failover — become {@link DatabaseUnavailableError} (answered 503 with
 *   `Retry-After`); see {@link isPostgresUnavailable}. Everything else (a
 *   bad statement, a constraint) is thrown as is.
 * - The layout is versioned: {@link PG_MIGRATIONS} is applied on open in one
 *   transaction holding `pg_advisory_xact_lock`, so servers starting at once
 *   apply each step exactly once and wait for each other.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  DatabaseUnavailableError,
  type ApiKeyInfo, type CollectionStats, type ExportedRow, type InsertOutcome, type LiveSession, type NewApiKey, type NewSession,
  type RecentDoc, type Store, type StoredRow,
} from './store.js';

/** The PostgreSQL schema (namespace) that holds every table of sw-ingest. */
export const PG_SCHEMA = 'sw_ingest';

/** The database layout, one step per version; append, never edit. */
export const PG_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE sw_ingest.records (
        collection text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        doc bytea NOT NULL,
        owner text NOT NULL,
        client_id text NOT NULL,
        ingested_at bigint NOT NULL,
        sent_at bigint NOT NULL,
        received_at bigint NOT NULL,
        PRIMARY KEY (collection, id)
      );
      CREATE TABLE sw_ingest.users (
        id text PRIMARY KEY,
        refresh_token_hash text NOT NULL UNIQUE,
        created_at bigint NOT NULL
      );
      CREATE TABLE sw_ingest.secrets (
        name text PRIMARY KEY,
        value text NOT NULL,
        created_at bigint NOT NULL
      );`,
  },
  {
    // Issue 5: several revocable sessions per user, and API keys stored
    // hashed. Every anonymous user of version 1 becomes one session whose id
    // is the user id.
    version: 2,
    sql: `
      CREATE TABLE sw_ingest.api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        user_id text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        created_at bigint NOT NULL,
        revoked_at bigint
      );
      CREATE TABLE sw_ingest.sessions (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        refresh_token_hash text NOT NULL UNIQUE,
        api_key_id text REFERENCES sw_ingest.api_keys (id),
        created_at bigint NOT NULL,
        revoked_at bigint
      );
      CREATE INDEX sessions_revoked_at ON sw_ingest.sessions (revoked_at) WHERE revoked_at IS NOT NULL;
      CREATE INDEX sessions_api_key_id ON sw_ingest.sessions (api_key_id) WHERE api_key_id IS NOT NULL;
      INSERT INTO sw_ingest.sessions (id, user_id, refresh_token_hash, created_at)
        SELECT id, id, refresh_token_hash, created_at FROM sw_ingest.users;
      DROP TABLE sw_ingest.users;`,
  },
];

/**
 * The key of the advisory lock that serialises migrations across servers
 * (the ASCII of "swingest" as a bigint), documented so that operators can
 * see it in `pg_locks`.
 */
export const PG_MIGRATION_LOCK_KEY = 0x7377696e67657374n;

/** Default most connections per server. */
export const DEFAULT_PG_POOL_MAX = 10;
/**
 * Default time a query waits for a connection (a new one, or a free one of
 * the pool) before it fails with {@link DatabaseUnavailableError}, in ms.
 */
export const DEFAULT_PG_CONNECTION_TIMEOUT_MS = 5_000;
/**
 * Default `statement_timeout` of the pool's connections, in ms: a statement
 * still running after it (an insert waiting for a lock, a database too
 * slow) is cancelled by PostgreSQL and fails with
 * {@link DatabaseUnavailableError}. A batch insert normally takes
 * milliseconds.
 */
export const DEFAULT_PG_STATEMENT_TIMEOUT_MS = 15_000;
/** Rows per page of {@link PostgresStore.exportRows}. */
const EXPORT_PAGE_ROWS = 1000;

/** Options of {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  /** Most connections this server holds. @default 10 */
  poolMax?: number;
  /**
   * Only check that sw-ingest's tables exist and are not newer than this
   * version knows; create and migrate nothing (for `sw-ingest export`).
   * @default false
   */
  mustExist?: boolean;
  /** Where errors of idle pooled connections go (a restarted database, a dropped connection). @default stderr */
  onIdleError?: (err: Error) => void;
  /**
   * Most time a query waits for a connection, in ms; then it fails with
   * {@link DatabaseUnavailableError}.
   * @default 5000 ({@link DEFAULT_PG_CONNECTION_TIMEOUT_MS})
   */
  connectionTimeoutMs?: number;
  /**
   * `statement_timeout` of this server's connections, in ms; 0 keeps the
   * database's (or role's) own setting. Full scans (`count`,
   * `collectionStats`, `recentDocs`) and migrations run without it.
   * @default 15000 ({@link DEFAULT_PG_STATEMENT_TIMEOUT_MS})
   */
  statementTimeoutMs?: number;
}

/** A {@link Store} on a PostgreSQL database. Open it with {@link PostgresStore.open}. */
export class PostgresStore implements Store {
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {}

  /**
   * Connects, and creates or migrates sw-ingest's tables.
   *
   * @param url - a `postgres://` or `postgresql://` URL; `?sslmode=verify-full` etc. as pg understands them
   * @param options - see {@link PostgresStoreOptions}
   * @throws when the database cannot be reached, was written by a newer
   *   sw-ingest, or (with `mustExist`) holds no sw-ingest tables
   * @example
   * ```ts
   * const store = await PostgresStore.open('postgres://ingest:pw@db.internal/ingest?sslmode=verify-full', { poolMax: 20 });
   * ```
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const poolMax = options.poolMax ?? DEFAULT_PG_POOL_MAX;
    if (!Number.isInteger(poolMax) || poolMax < 1) throw new Error(`pool size must be a positive integer, not ${poolMax}`);
    const connectionTimeoutMs = options.connectionTimeoutMs ?? DEFAULT_PG_CONNECTION_TIMEOUT_MS;
    // 0 would mean "wait forever" to pg-pool: a request must never hang on a lost database.
    if (!Number.isInteger(connectionTimeoutMs) || connectionTimeoutMs < 1) {
      throw new Error(`connection timeout must be a positive number of ms, not ${connectionTimeoutMs}`);
    }
    const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_PG_STATEMENT_TIMEOUT_MS;
    if (!Number.isInteger(statementTimeoutMs) || statementTimeoutMs < 0) {
      throw new Error(`statement timeout must be 0 or a positive number of ms, not ${statementTimeoutMs}`);
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: poolMax,
      connectionTimeoutMillis: connectionTimeoutMs,
      application_name: 'sw-ingest',
      // Awaited by the pool before it hands the new connection out, in one
      // round trip. A reply promises that the rows are durable: never let a
      // database-wide synchronous_commit=off weaken that (stronger settings
      // are kept). The statement limit is set here rather than as pg's
      // `statement_timeout` startup parameter, which PgBouncer refuses.
      onConnect: async (client) => {
        await client.query(
          `SELECT CASE WHEN current_setting('synchronous_commit') = 'off' THEN set_config('synchronous_commit', 'on', false) END,
                  CASE WHEN $1::int > 0 THEN set_config('statement_timeout', $1::int::text, false) END`,
          [statementTimeoutMs],
        );
      },
    });
    // Without a listener, an idle connection's error (the database restarted)
    // would be an uncaught exception that ends the process.
    const onIdleError = options.onIdleError ?? ((err: Error) => process.stderr.write(`sw-ingest: idle PostgreSQL connection failed: ${err.message}\n`));
    pool.on('error', onIdleError);
    try {
      if (options.mustExist) await checkLayout(pool);
      else await migrate(pool);
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresStore(pool);
  }

  /** @inheritDoc Store.insertBatch */
  async insertBatch(rows: readonly StoredRow[]): Promise<InsertOutcome[]> {
    if (rows.length === 0) return [];
    // Only the first row of each key goes to the database; later rows of the
    // same key in this batch are duplicates of it (as in SQLite, where they
    // conflict with the row inserted just before).
    const firstOfKey = new Map<string, number>();
    const sent: StoredRow[] = [];
    rows.forEach((r, i) => {
      const key = rowKey(r.collection, r.id);
      if (firstOfKey.has(key)) return;
      firstOfKey.set(key, i);
      sent.push(r);
    });
    const result = await this.query<{ collection: string; id: string }>(
      `INSERT INTO sw_ingest.records (collection, id, doc, owner, client_id, ingested_at, sent_at, received_at)
       SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
       ON CONFLICT (collection, id) DO NOTHING
       RETURNING collection, id`,
      [
        sent.map((r) => r.collection),
        sent.map((r) => r.id),
        sent.map((r) => r.doc),
        sent.map((r) => r.owner),
        sent.map((r) => r.clientId),
        sent.map((r) => r.ingestedAt),
        sent.map((r) => r.sentAt),
        sent.map((r) => r.receivedAt),
      ],
    );
    const stored = new Set(result.rows.map((r) => rowKey(r.collection, r.id)));
    return rows.map((r, i): InsertOutcome => {
      const key = rowKey(r.collection, r.id);
      return firstOfKey.get(key) === i && stored.has(key) ? 'stored' : 'duplicate';
    });
  }

  /** @inheritDoc Store.count */
  async count(collection: string): Promise<number> {
    const { rows } = await this.scan<{ n: string }>('SELECT count(*) AS n FROM sw_ingest.records WHERE collection = $1', [collection]);
    return Number(rows[0]!.n);
  }

  /**
   * @inheritDoc Store.exportRows
   *
   * Pages by primary key (keyset pagination, one short query per page), so
   * a slow download holds neither a connection nor a snapshot.
   */
  async *exportRows(collection: string): AsyncIterable<ExportedRow> {
    let after = '';
    for (;;) {
      const { rows } = await this.query<{
        id: string; doc: Buffer; owner: string; client_id: string; ingested_at: string; sent_at: string; received_at: string;
      }>(
        `SELECT id, doc, owner, client_id, ingested_at, sent_at, received_at
         FROM sw_ingest.records WHERE collection = $1 AND id > $2 ORDER BY id LIMIT $3`,
        [collection, after, EXPORT_PAGE_ROWS],
      );
      for (const r of rows) {
        yield {
          doc: r.doc, owner: r.owner, clientId: r.client_id,
          ingestedAt: Number(r.ingested_at), sentAt: Number(r.sent_at), receivedAt: Number(r.received_at),
        };
      }
      if (rows.length < EXPORT_PAGE_ROWS) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** @inheritDoc Store.collectionStats */
  async collectionStats(): Promise<CollectionStats[]> {
    const { rows } = await this.scan<{ collection: string; n: string; last: string }>(
      'SELECT collection, count(*) AS n, max(received_at) AS last FROM sw_ingest.records GROUP BY collection ORDER BY collection',
    );
    return rows.map((r) => ({ collection: r.collection, count: Number(r.n), lastReceivedAt: Number(r.last) }));
  }

  /** @inheritDoc Store.recentDocs */
  async recentDocs(limit: number): Promise<RecentDoc[]> {
    // A full scan; only the demo asks, on demo-sized databases.
    const { rows } = await this.scan<{ collection: string; doc: Buffer; received_at: string }>(
      'SELECT collection, doc, received_at FROM sw_ingest.records ORDER BY received_at DESC, id DESC LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({ collection: r.collection, doc: r.doc, receivedAt: Number(r.received_at) }));
  }

  /** @inheritDoc Store.createSession */
  async createSession(s: NewSession): Promise<void> {
    await this.query(
      'INSERT INTO sw_ingest.sessions (id, user_id, refresh_token_hash, api_key_id, created_at) VALUES ($1, $2, $3, $4, $5)',
      [s.id, s.userId, s.refreshTokenHash, s.apiKeyId ?? null, s.createdAt],
    );
  }

  /** @inheritDoc Store.findSession */
  async findSession(refreshTokenHash: string): Promise<LiveSession | undefined> {
    const { rows } = await this.query<LiveSession>(
      `SELECT s.id, s.user_id AS "userId" FROM sw_ingest.sessions s LEFT JOIN sw_ingest.api_keys k ON k.id = s.api_key_id
       WHERE s.refresh_token_hash = $1 AND s.revoked_at IS NULL AND k.revoked_at IS NULL`,
      [refreshTokenHash],
    );
    return rows[0];
  }

  /** @inheritDoc Store.revokeSession */
  async revokeSession(refreshTokenHash: string, at: number): Promise<string | undefined> {
    const { rows } = await this.query<{ id: string }>(
      'UPDATE sw_ingest.sessions SET revoked_at = $1 WHERE refresh_token_hash = $2 AND revoked_at IS NULL RETURNING id', [at, refreshTokenHash],
    );
    return rows[0]?.id;
  }

  /** @inheritDoc Store.revokedSessionIds */
  async revokedSessionIds(since: number): Promise<string[]> {
    // The second half catches a session created while its key was being revoked.
    const { rows } = await this.query<{ id: string }>(
      `SELECT id FROM sw_ingest.sessions WHERE revoked_at >= $1
       UNION SELECT s.id FROM sw_ingest.api_keys k JOIN sw_ingest.sessions s ON s.api_key_id = k.id WHERE k.revoked_at >= $1`,
      [since],
    );
    return rows.map((r) => r.id);
  }

  /** @inheritDoc Store.createApiKey */
  async createApiKey(k: NewApiKey): Promise<void> {
    await this.query(
      'INSERT INTO sw_ingest.api_keys (id, name, user_id, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)',
      [k.id, k.name, k.userId, k.keyHash, k.createdAt],
    );
  }

  /** @inheritDoc Store.findApiKey */
  async findApiKey(keyHash: string): Promise<{ id: string; userId: string } | undefined> {
    const { rows } = await this.query<{ id: string; userId: string }>(
      'SELECT id, user_id AS "userId" FROM sw_ingest.api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [keyHash],
    );
    return rows[0];
  }

  /** @inheritDoc Store.listApiKeys */
  async listApiKeys(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.query<{ id: string; name: string; user_id: string; created_at: string; revoked_at: string | null }>(
      'SELECT id, name, user_id, created_at, revoked_at FROM sw_ingest.api_keys ORDER BY created_at, id',
    );
    return rows.map((r) => ({
      id: r.id, name: r.name, userId: r.user_id, createdAt: Number(r.created_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    }));
  }

  /** @inheritDoc Store.revokeApiKey */
  async revokeApiKey(id: string, at: number): Promise<{ sessions: number; alreadyRevoked: boolean } | undefined> {
    return this.transaction('BEGIN', async (client) => {
      const { rows } = await client.query<{ revoked_at: string | null }>('SELECT revoked_at FROM sw_ingest.api_keys WHERE id = $1 FOR UPDATE', [id]);
      if (rows[0] === undefined) return undefined;
      if (rows[0].revoked_at !== null) return { sessions: 0, alreadyRevoked: true };
      await client.query('UPDATE sw_ingest.api_keys SET revoked_at = $1 WHERE id = $2', [at, id]);
      const { rowCount } = await client.query(
        'UPDATE sw_ingest.sessions SET revoked_at = $1 WHERE api_key_id = $2 AND revoked_at IS NULL', [at, id],
      );
      return { sessions: rowCount ?? 0, alreadyRevoked: false };
    });
  }


  /**
   * @inheritDoc Store.sharedSecret
   *
   * Two statements on purpose: the `SELECT` takes a new snapshot, so it sees
   * the value of a server whose concurrent insert won.
   */
  async sharedSecret(name: string, generate: () => string = () => randomBytes(32).toString('base64url')): Promise<string> {
    await this.query(
      'INSERT INTO sw_ingest.secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
      [name, generate(), Date.now()],
    );
    const { rows } = await this.query<{ value: string }>('SELECT value FROM sw_ingest.secrets WHERE name = $1', [name]);
    return rows[0]!.value;
  }

  /** `pool.query`, with "not now" errors as {@link DatabaseUnavailableError}. */
  private async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /** `pool.connect`, with "not now" errors as {@link DatabaseUnavailableError}. */
  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /**
   * One query without the statement limit, for full scans whose time grows
   * with the table (an admin's count, `sw-ingest stats`): `SET LOCAL` in a
   * transaction of its own, which poolers in transaction mode keep too.
   */
  private scan<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.transaction('BEGIN; SET LOCAL statement_timeout = 0', (client) => client.query<R>(text, values));
  }

  /** Runs `work` in one transaction on a pooled connection, started with `begin`; rolls back when it throws. */
  private async transaction<T>(begin: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw toStoreError(err);
    } finally {
      client.release();
    }
  }


  /** @inheritDoc Store.close */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end(); // waits for checked-out connections to be released
  }
}

/**
 * SQLSTATE classes that mean "not now": 08 connection exception, 53
 * insufficient resources (53100 disk full, 53200 out of memory, 53300 too
 * many connections).
 */
const UNAVAILABLE_SQLSTATE_CLASSES: ReadonlySet<string> = new Set(['08', '53']);
/** Single SQLSTATEs that mean "not now". */
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown: the server is stopping, or pg_terminate_backend
  '57P02', // crash_shutdown: another backend crashed, all are restarted
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '57014', // query_canceled: statement_timeout (or an operator's pg_cancel_backend)
  '55P03', // lock_not_available: a lock_timeout set by the operator
  '25006', // read_only_sql_transaction: a standby, e.g. during a failover
  '40001', // serialization_failure
  '40P01', // deadlock_detected: two batches with common keys, in another order
  '58030', // io_error
]);
/** Node's socket errors on connecting or on a live connection. */
const UNAVAILABLE_SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN',
]);
/** pg and pg-pool's own errors, which have no code, only these messages. */
const UNAVAILABLE_MESSAGES: readonly RegExp[] = [
  /^timeout exceeded when trying to connect$/, // pg-pool: no free connection within connectionTimeoutMillis
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^Client has encountered a connection error and is not queryable$/,
  /^Query read timeout$/,
];

/**
 * Whether `err`, thrown by pg or pg-pool, means that the database cannot
 * serve the call now but may soon (see the lists above), rather than that
 * the call is wrong. Looks through `cause` and `AggregateError`s (Node's
 * connect to several addresses of one host name).
 *
 * @param err - what pg threw
 */
export function isPostgresUnavailable(err: unknown): boolean {
  let e = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_SQLSTATE_CLASSES.has(code.slice(0, 2))) return true;
    }
    const { message } = e;
    if (UNAVAILABLE_MESSAGES.some((m) => m.test(message))) return true;
    if (e instanceof AggregateError && e.errors.some(isPostgresUnavailable)) return true;
    e = e.cause;
  }
  return false;
}

/** `err` as the sink throws it: a {@link DatabaseUnavailableError} when it means "not now", else unchanged. */
function toStoreError(err: unknown): unknown {
  if (err instanceof DatabaseUnavailableError || !isPostgresUnavailable(err)) return err;
  const code = (err as { code?: unknown }).code;
  return new DatabaseUnavailableError(`PostgreSQL is unavailable: ${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
}

/** An unambiguous map key for (collection, id); ids may contain any character. */
function rowKey(collection: string, id: string): string {
  return `${collection.length}:${collection}${id}`;
}

/**
 * Applies the steps of {@link PG_MIGRATIONS} that the database has not seen
 * yet, all in one transaction that first takes the advisory lock: a second
 * server starting meanwhile waits, then finds the steps applied. Creates
 * the schema only when it is missing, so a role without `CREATE` on the
 * database can run against tables an administrator created.
 */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Waiting for another server's migration, or a step on a big table, may take longer than any statement limit.
    await client.query('BEGIN; SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1)', [PG_MIGRATION_LOCK_KEY.toString()]);
    await checkEncoding(client);
    const { rows: [ns] } = await client.query<{ schema: string | null; table: string | null }>(
      `SELECT to_regnamespace('sw_ingest')::text AS schema, to_regclass('sw_ingest.schema_migrations')::text AS table`,
    );
    if (ns?.schema == null) await client.query('CREATE SCHEMA sw_ingest');
    if (ns?.table == null) {
      await client.query('CREATE TABLE sw_ingest.schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
    }
    const current = await layoutVersion(client);
    for (const step of PG_MIGRATIONS) {
      if (step.version <= current) continue;
      await client.query(step.sql);
      await client.query('INSERT INTO sw_ingest.schema_migrations (version, applied_at) VALUES ($1, $2)', [step.version, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** For `mustExist`: the tables are there and not newer than this code. */
async function checkLayout(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    const { rows: [t] } = await client.query<{ table: string | null }>(`SELECT to_regclass('sw_ingest.schema_migrations')::text AS table`);
    if (t?.table == null) throw new Error('the database holds no sw-ingest tables (schema sw_ingest); start `sw-ingest serve` on it first');
    await layoutVersion(client);
  } finally {
    client.release();
  }
}

/** The applied layout version; throws if it is newer than {@link PG_MIGRATIONS}. */
async function layoutVersion(client: pg.PoolClient): Promise<number> {
  const { rows: [row] } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM sw_ingest.schema_migrations');
  const current = row?.v ?? 0;
  const latest = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;
  if (current > latest) {
    throw new Error(`database layout version ${current} is newer than this sw-ingest knows (${latest}); upgrade sw-ingest`);
  }
  return current;
}

/** Ids are compared as UTF-8 bytes; a database in another encoding would order (and store) them differently. */
async function checkEncoding(client: pg.PoolClient): Promise<void> {
  const { rows: [row] } = await client.query<{ server_encoding: string }>('SHOW server_encoding');
  if (row?.server_encoding !== 'UTF8') {
    throw new Error(`the database's encoding is ${row?.server_encoding}; sw-ingest needs UTF8 (CREATE DATABASE … ENCODING 'UTF8')`);
  }
}
