/**
 * What the HTTP layer needs from a storage sink. The embedded default is
 * `SqliteStore`; `PostgresStore` implements the same interface for several
 * servers on one database, which is why every method is async even though
 * better-sqlite3 is synchronous. Both pass the same conformance tests
 * (`tests/unit/sink-*.test.ts`), and both report a database that is down,
 * busy or full the same way: {@link DatabaseUnavailableError}.
 */

/**
 * Thrown by a sink when the database cannot serve the call for now:
 * unreachable, restarting, out of connections, too slow, locked or full.
 * Each sink turns exactly these driver errors into it (the others, such as
 * a bad statement, stay as they are); the HTTP layer answers it 503
 * `database-unavailable` with `Retry-After`, never 500.
 *
 * Whether the call took effect is unknown when the connection died during
 * a commit; a write that failed this way is safe to repeat (uploads answer
 * `duplicate` for rows already stored).
 *
 * @example
 * ```ts
 * throw new DatabaseUnavailableError('PostgreSQL: the database system is starting up', { cause: err });
 * ```
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';

  /**
   * @param message - names the database and what is wrong; goes to the log, never to clients
   * @param options - `cause`: the driver's error
   */
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/** One validated record, ready to be written. */
export interface StoredRow {
  /** The asymmetric type's name. */
  collection: string;
  /** `primaryKeyString(doc._id)`: unique within the collection. */
  id: string;
  /** The document re-serialized by the server as BSON (never the client's bytes). */
  doc: Uint8Array;
  /** The `sub` of the access token that uploaded it. */
  owner: string;
  /** The uploading outbox's id (`UploadBody.client`). */
  clientId: string;
  /** When `ingest()` was called on the device, ms since the epoch. */
  ingestedAt: number;
  /** When the SW sent the request, ms since the epoch (device clock). */
  sentAt: number;
  /** When the server received it, ms since the epoch (server clock). */
  receivedAt: number;
}

/** The outcome of one row of {@link Store.insertBatch}. */
export type InsertOutcome = 'stored' | 'duplicate';

/** One stored row as export reads it: the document and its metadata. */
export interface ExportedRow {
  /** The stored BSON bytes, exactly as written. */
  doc: Uint8Array;
  owner: string;
  clientId: string;
  /** Device clock, ms since the epoch. */
  ingestedAt: number;
  /** Device clock, ms since the epoch. */
  sentAt: number;
  /** Server clock, ms since the epoch. */
  receivedAt: number;
}

/** One line of `sw-ingest stats`. */
export interface CollectionStats {
  collection: string;
  count: number;
  /** Server clock, ms since the epoch. */
  lastReceivedAt: number;
}

/** A recently stored document, for the demo summary. */
export interface RecentDoc {
  collection: string;
  doc: Uint8Array;
  receivedAt: number;
}

/** A session to record: see {@link Store.createSession}. */
export interface NewSession {
  /** Random id, carried in the session's access tokens as `sid`. */
  id: string;
  userId: string;
  /** SHA-256 (hex) of the refresh token; the token itself is never stored. */
  refreshTokenHash: string;
  /** The API key it was logged in with, if any: revoking the key revokes the session. */
  apiKeyId?: string;
  createdAt: number;
}

/** A session that may still be refreshed. */
export interface LiveSession {
  id: string;
  userId: string;
}

/** An API key to store: see {@link Store.createApiKey}. */
export interface NewApiKey {
  id: string;
  name: string;
  /** The one user this key logs in as (`api-key:<id>`). */
  userId: string;
  /** SHA-256 (hex) of the key. */
  keyHash: string;
  createdAt: number;
}

/** One API key as `sw-ingest keys list` shows it (never the key or its hash). */
export interface ApiKeyInfo {
  id: string;
  name: string;
  userId: string;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * A storage sink. Implementations must be safe to call concurrently. Every
 * method rejects with {@link DatabaseUnavailableError} when the database
 * cannot serve it for now, and with the driver's own error otherwise.
 */
export interface Store {
  /**
   * Writes all rows in one transaction, skipping rows whose (collection, id)
   * already exists — including an earlier row of the same batch — and
   * resolves only after the commit is durable.
   *
   * @returns one outcome per row, in the order of `rows`
   */
  insertBatch(rows: readonly StoredRow[]): Promise<InsertOutcome[]>;
  /** How many documents `collection` holds. */
  count(collection: string): Promise<number>;
  /** Every collection that holds documents, with its count and latest receive time (ms), by name. */
  collectionStats(): Promise<CollectionStats[]>;
  /**
   * Every row of `collection` with its stored BSON bytes and metadata,
   * ordered by primary key string compared byte by byte (not by arrival).
   * Reads in pages, so a slow consumer never holds the database; rows
   * written meanwhile may or may not appear, but none appears twice.
   */
  exportRows(collection: string): AsyncIterable<ExportedRow>;
  /** The last `limit` documents received, across all collections, newest first. */
  recentDocs(limit: number): Promise<RecentDoc[]>;
  /** Records a new session (one login: anonymous, API key or JWT). */
  createSession(session: NewSession): Promise<void>;
  /**
   * The live session whose refresh token hashes to `refreshTokenHash`: not
   * logged out, and — for an API-key session — its key not revoked.
   */
  findSession(refreshTokenHash: string): Promise<LiveSession | undefined>;
  /** Marks the session of this refresh token revoked at `at`; its id, if it was live. */
  revokeSession(refreshTokenHash: string, at: number): Promise<string | undefined>;
  /**
   * Ids of sessions revoked at or after `since` (ms): logged out, or their
   * API key revoked. Read periodically by every server to refuse the
   * access tokens of revoked sessions before they expire.
   */
  revokedSessionIds(since: number): Promise<string[]>;
  /** Stores a new API key (only the SHA-256 of the key itself). */
  createApiKey(key: NewApiKey): Promise<void>;
  /** The key (not revoked) whose SHA-256 is `keyHash`. */
  findApiKey(keyHash: string): Promise<{ id: string; userId: string } | undefined>;
  /** Every API key, revoked ones included, oldest first. */
  listApiKeys(): Promise<ApiKeyInfo[]>;
  /**
   * Revokes the key and, in the same transaction, every session logged in
   * with it. `undefined` when there is no such key; `alreadyRevoked` when it
   * was revoked before (nothing changes).
   */
  revokeApiKey(id: string, at: number): Promise<{ sessions: number; alreadyRevoked: boolean } | undefined>;
  /**
   * A secret shared by every server on this database: the stored value of
   * `name`, or `generate()` stored on first use (the first of several
   * servers starting at once wins; all get the same value). Only sinks that
   * several machines share implement it; without it the server keeps its
   * secrets as files in its data directory.
   */
  sharedSecret?(name: string, generate: () => string): Promise<string>;
  /** Closes the sink, after letting running calls finish; further calls fail. */
  close(): Promise<void>;
}
