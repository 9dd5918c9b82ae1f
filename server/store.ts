/**
 * What the HTTP layer needs from a storage sink. The embedded default is
 * `SqliteStore`; a PostgreSQL sink will implement the same interface, which
 * is why every method is async even though better-sqlite3 is synchronous.
 */

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

/** A recently stored document, for the demo summary. */
export interface RecentDoc {
  collection: string;
  doc: Uint8Array;
  receivedAt: number;
}

/** A storage sink. Implementations must be safe to call concurrently. */
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
  /**
   * The stored BSON bytes of every document of `collection`, ordered by
   * primary key string (not by arrival). Reads in pages, so a slow consumer
   * never holds the database; rows written meanwhile may or may not appear,
   * but none appears twice.
   */
  exportDocs(collection: string): AsyncIterable<Uint8Array>;
  /** The last `limit` documents received, across all collections, newest first. */
  recentDocs(limit: number): Promise<RecentDoc[]>;
  /** Registers a user with the SHA-256 (hex) of its refresh token. */
  createUser(userId: string, refreshTokenHash: string, createdAt: number): Promise<void>;
  /** The user whose refresh token hashes to `refreshTokenHash`, if any. */
  findUserByRefreshTokenHash(refreshTokenHash: string): Promise<string | undefined>;
  /** Closes the sink; further calls fail. */
  close(): Promise<void>;
}
