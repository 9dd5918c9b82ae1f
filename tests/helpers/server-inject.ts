/**
 * Server test helpers: an app on a fresh temp directory with a real SQLite
 * file, anonymous login, upload encoding, and a row count read straight from
 * the database (not through the code under test). Everything runs through
 * `app.inject()`, without a port.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BSON, Binary, type Document } from 'bson';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { encodeUpload, PROTOCOL_VERSION, type Session, type UploadBody } from '../../lib/protocol.js';
import { parseSchema, type ObjectSchema, type ParsedSchema } from '../../lib/schema.js';
import { buildApp, type AppOptions } from '../../server/app.js';
import { openStore, parseDbLocation } from '../../server/open-store.js';
import { loadServerSecrets } from '../../server/secrets.js';
import type { Store } from '../../server/store.js';

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
  app: FastifyInstance;
  store: Store;
  schema: ParsedSchema;
  /** The temp directory: data dir and home of `ingest.db`. */
  dir: string;
  dbFile: string;
  adminKey: string;
  jwtSecret: string;
  /** Closes app and store; removes the directory unless `keepDir`. */
  close(options?: { keepDir?: boolean }): Promise<void>;
}

/**
 * Builds an app on a temp directory (or `dir`, to test a restart), with the
 * secrets loaded or created there exactly as `sw-ingest serve` does.
 *
 * @param options - `dir` to reuse, `adminKey` to pass one in, and any {@link AppOptions}
 */
export async function startTestServer(
  options: Partial<Omit<AppOptions, 'store' | 'schema' | 'jwtSecret'>> & { dir?: string } = {},
): Promise<TestServer> {
  const { dir: givenDir, adminKey: givenAdminKey, ...appOptions } = options;
  const dir = givenDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-test-'));
  const dbFile = path.join(dir, 'ingest.db');
  const store = openStore(parseDbLocation(`sqlite:${dbFile}`));
  const secrets = loadServerSecrets(dir, givenAdminKey);
  const schema = parseSchema(TEST_SCHEMA);
  const app = buildApp({ store, schema, adminKey: secrets.adminKey, jwtSecret: secrets.jwtSecret, ...appOptions });
  await app.ready();
  return {
    app, store, schema, dir, dbFile, adminKey: secrets.adminKey, jwtSecret: secrets.jwtSecret,
    async close({ keepDir = false } = {}) {
      await app.close();
      await store.close();
      if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
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

/** Rows in `records` (of one collection, or all), read with a separate read-only connection. */
export function countRows(dbFile: string, collection?: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    const row = (collection === undefined
      ? db.prepare('SELECT COUNT(*) AS n FROM records').get()
      : db.prepare('SELECT COUNT(*) AS n FROM records WHERE collection = ?').get(collection)) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

/** Every row of `records`, read with a separate read-only connection. */
export function readRows(dbFile: string): { collection: string; id: string; owner: string; client_id: string; doc: Buffer }[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT collection, id, owner, client_id, doc FROM records ORDER BY collection, id').all() as never;
  } finally {
    db.close();
  }
}
