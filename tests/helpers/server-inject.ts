/**
 * Server test helpers: an app on a fresh temp directory with a real
 * database — a SQLite file, or a fresh PostgreSQL database — anonymous
 * login, upload encoding, and row counts read straight from the database
 * (not through the code under test). The app is `createIngestServer`'s,
 * as `sw-ingest serve` runs it, on a store the helper opens itself (so
 * tests can reach it). Everything runs through `app.inject()`, without a port.
 *
 * Suites run once per sink with {@link forEachSink}, so both sinks pass the
 * same assertions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'node:test';
import Database from 'better-sqlite3';
import { BSON, Binary, type Document } from 'bson';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { encodeUpload, PROTOCOL_VERSION, type Session, type UploadBody } from '../../core/protocol.js';
import { parseSchema, type ObjectSchema, type ParsedSchema } from '../../core/schema.js';
import { createIngestServer, type IngestServerOptions } from '../../server/create-server.js';
import { openStore, parseDbLocation } from '../../server/open-store.js';
import { loadServerSecrets } from '../../server/secrets.js';
import type { Store } from '../../server/store.js';
import {
  createTestDatabase, postgresUrlOrSkip, POSTGRES_SKIP_REASON, SINKS, withClient, type Sink, type TestDatabase,
} from './postgres.js';

export { SINKS, type Sink };

/**
 * `describe(`${name} (${sink})`, fn)` for each sink; the PostgreSQL suite is
 * skipped with a reason when `DATABASE_URL` is not set, and fails in CI.
 *
 * @param name - the suite's name
 * @param fn - the suite, given the sink
 */
export function forEachSink(name: string, fn: (sink: Sink) => void): void {
  for (const sink of SINKS) {
    let skip: string | false = false;
    let missing: Error | undefined;
    if (sink === 'postgres') {
      try {
        if (postgresUrlOrSkip() === undefined) skip = POSTGRES_SKIP_REASON;
      } catch (err) {
        missing = err as Error;
      }
    }
    describe(`${name} (${sink})`, { skip }, () => {
      if (missing !== undefined) throw missing;
      fn(sink);
    });
  }
}

/** Two asymmetric types (objectId and string keys) and one embedded type. */
export const TEST_SCHEMA: ObjectSchema[] = [
  {
    name: 'Reading',
    asymmetric: true,
    primaryKey: '_id',
    properties: { _id: 'objectId', sensor: 'string', value: 'double', count: 'int?', at: 'date?', point: 'Point?' },
  },
  { name: 'Event', asymmetric: true, primaryKey: '_id', properties: { _id: 'string', kind: 'string' } },
  { name: 'Point', embedded: true, properties: { x: 'double', y: 'double' } },
];

/** A running test app and what it was built from. */
export interface TestServer {
  sink: Sink;
  app: FastifyInstance;
  store: Store;
  schema: ParsedSchema;
  /** The temp directory: data dir, and home of `ingest.db` for SQLite. */
  dir: string;
  /** The `--db` value of its database: `sqlite:<file>` or a `postgres://` URL. */
  db: string;
  adminKey: string;
  jwtSecret: string;
  /** Closes app and store; removes the directory and drops the database unless `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/** Options of {@link startTestServer}. */
export type TestServerOptions = Partial<Omit<IngestServerOptions, 'schema' | 'db' | 'dataDir'>> & {
  /** @default 'sqlite' */
  sink?: Sink;
  /** Reuse the directory and database of a server closed with `keepData` (a restart). */
  reuse?: Pick<TestServer, 'sink' | 'dir' | 'db'>;
  /** The server's schema. @default TEST_SCHEMA */
  schema?: ObjectSchema[];
  /** Older name of `static`. */
  staticDir?: string;
  /** Older name of `bodyLimit`. */
  bodyLimitBytes?: number;
  /** Older name of `maxRecords`. */
  maxRecordsPerBatch?: number;
  /** Older name of `requestTimeout`. */
  requestTimeoutMs?: number;
};

/** Databases created by {@link startTestServer}, by URL, so that a restart keeps the drop. */
const createdDatabases = new Map<string, TestDatabase>();

/**
 * Builds an app with `createIngestServer` on a temp directory and a fresh
 * database (or those of `reuse`, to test a restart), with the secrets
 * loaded or created exactly as `sw-ingest serve` does.
 *
 * @param options - the sink, `reuse`, `adminKey` to pass one in, and any {@link IngestServerOptions}
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const {
    reuse, adminKey: givenAdminKey, sink: givenSink, schema: schemaJson,
    staticDir, bodyLimitBytes, maxRecordsPerBatch, requestTimeoutMs, ...serverOptions
  } = options;
  const sink = reuse?.sink ?? givenSink ?? 'sqlite';
  const dir = reuse?.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-test-'));
  let db = reuse?.db;
  if (db === undefined) {
    if (sink === 'sqlite') {
      db = `sqlite:${path.join(dir, 'ingest.db')}`;
    } else {
      const created = await createTestDatabase();
      createdDatabases.set(created.url, created);
      db = created.url;
    }
  }
  const store = await openStore(parseDbLocation(db));
  let app: FastifyInstance;
  let secrets: Awaited<ReturnType<typeof loadServerSecrets>>;
  try {
    // Read (or created) here too, as the server reads them, so that tests can sign tokens.
    secrets = await loadServerSecrets(dir, givenAdminKey, store);
    app = await createIngestServer({
      ...serverOptions,
      ...(staticDir === undefined ? {} : { static: staticDir }),
      ...(bodyLimitBytes === undefined ? {} : { bodyLimit: bodyLimitBytes }),
      ...(maxRecordsPerBatch === undefined ? {} : { maxRecords: maxRecordsPerBatch }),
      ...(requestTimeoutMs === undefined ? {} : { requestTimeout: requestTimeoutMs }),
      schema: schemaJson ?? TEST_SCHEMA,
      db: store, // an opened store: the app never closes it, close() below does
      dataDir: dir,
      adminKey: secrets.adminKey,
    });
    await app.ready();
  } catch (err) {
    await store.close();
    throw err;
  }
  const schema = parseSchema(schemaJson ?? TEST_SCHEMA);
  return {
    sink, app, store, schema, dir, db, adminKey: secrets.adminKey, jwtSecret: secrets.jwtSecret,
    async close({ keepData = false } = {}) {
      await app.close();
      await store.close();
      if (keepData) return;
      fs.rmSync(dir, { recursive: true, force: true });
      await createdDatabases.get(db)?.drop();
      createdDatabases.delete(db);
    },
  };
}

/** Logs in anonymously and returns the session (asserting a 200). */
export async function loginAnonymously(app: FastifyInstance): Promise<Session> {
  const res = await app.inject({ method: 'POST', url: '/api/ingest/auth/anonymous' });
  if (res.statusCode !== 200) throw new Error(`anonymous login answered ${res.statusCode}: ${res.body}`);
  return res.json() as Session;
}

/** One record to upload: collection, document, and optionally when it was ingested. */
export interface TestRecord {
  c: string;
  doc: Document;
  t?: Date;
}

/**
 * Encodes an upload as the service worker does: each document BSON-encoded
 * and carried as `Binary`, framed by `encodeUpload`.
 *
 * @param records - the records
 * @param overrides - framing fields to replace (e.g. `v`)
 */
export function encodeTestUpload(records: TestRecord[], overrides: Partial<Record<keyof UploadBody, unknown>> = {}): Buffer {
  const body = {
    v: PROTOCOL_VERSION,
    client: 'test-client',
    sentAt: new Date(),
    records: records.map((r) => ({ c: r.c, t: r.t ?? new Date(), d: new Binary(BSON.serialize(r.doc)) })),
    ...overrides,
  };
  return Buffer.from(encodeUpload(body as UploadBody));
}

/** POSTs `body` to the batches route as `application/bson` with a bearer token. */
export function postBatch(
  app: FastifyInstance,
  accessToken: string | undefined,
  body: Buffer | string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/api/ingest/batches',
    headers: {
      'content-type': 'application/bson',
      ...(accessToken === undefined ? {} : { authorization: `Bearer ${accessToken}` }),
      ...headers,
    },
    payload: body,
  });
}

/** GETs an admin route with the admin key (or `auth`, when given). */
export function adminGet(server: TestServer, url: string, auth: string | null = server.adminKey): Promise<LightMyRequestResponse> {
  return server.app.inject({ method: 'GET', url, headers: auth === null ? {} : { authorization: `Bearer ${auth}` } });
}

/** A stored row as the tests read it back. */
export interface RawRow {
  collection: string;
  id: string;
  owner: string;
  client_id: string;
  doc: Buffer;
  ingested_at: number;
  sent_at: number;
  received_at: number;
}

/** Runs one read-only query on a separate connection to `server`'s database (SQLite `?`, PostgreSQL `$n` placeholders). */
async function rawQuery<T>(server: Pick<TestServer, 'db'>, sqlite: string, postgres: string, params: unknown[] = []): Promise<T[]> {
  const location = parseDbLocation(server.db);
  if (location.kind === 'sqlite') {
    const db = new Database(location.file, { readonly: true });
    try {
      return db.prepare(sqlite).all(...params) as T[];
    } finally {
      db.close();
    }
  }
  return withClient(location.url, async (client) => (await client.query(postgres, params)).rows as T[]);
}

/** Rows in `records` (of one collection, or all), read with a separate connection. */
export async function countRows(server: Pick<TestServer, 'db'>, collection?: string): Promise<number> {
  const [row] = collection === undefined
    ? await rawQuery<{ n: number | string }>(server, 'SELECT COUNT(*) AS n FROM records', 'SELECT count(*) AS n FROM sw_ingest.records')
    : await rawQuery<{ n: number | string }>(server,
      'SELECT COUNT(*) AS n FROM records WHERE collection = ?', 'SELECT count(*) AS n FROM sw_ingest.records WHERE collection = $1', [collection]);
  return Number(row!.n);
}

/** Every row of `records` in primary key order, read with a separate connection. */
export async function readRows(server: Pick<TestServer, 'db'>): Promise<RawRow[]> {
  const columns = 'collection, id, owner, client_id, doc, ingested_at, sent_at, received_at';
  const rows = await rawQuery<RawRow>(server,
    `SELECT ${columns} FROM records ORDER BY collection, id`,
    `SELECT ${columns} FROM sw_ingest.records ORDER BY collection, id`);
  return rows.map((r) => ({ ...r, ingested_at: Number(r.ingested_at), sent_at: Number(r.sent_at), received_at: Number(r.received_at) }));
}
