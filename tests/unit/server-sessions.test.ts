// Sessions and their end: API-key login, logout, revoking a key (refresh
// refused at once, access tokens refused within the revocation interval, on
// every server of the database), and the layout migration that turned v1's
// users into sessions. Both sinks, real databases, through app.inject().
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, it } from 'node:test';
import Database from 'better-sqlite3';
import { Double, ObjectId } from 'bson';
import { SignJWT } from 'jose';
import type { Session } from '../../core/protocol.js';
import { generateApiKey } from '../../server/auth.js';
import { parseDbLocation } from '../../server/open-store.js';
import { PG_MIGRATIONS } from '../../server/postgres-store.js';
import { MIGRATIONS } from '../../server/sqlite-store.js';
import type { Store } from '../../server/store.js';
import { assertUnauthorized, loginApiKey, logout, refresh } from '../helpers/auth-requests.js';
import { createTestDatabase, withClient } from '../helpers/postgres.js';
import {
  countRows, encodeTestUpload, forEachSink, loginAnonymously, postBatch, readRows, startTestServer, type TestServer,
} from '../helpers/server-inject.js';

const oneReading = () => encodeTestUpload([{ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } }]);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Creates an API key the way `sw-ingest keys create` does; returns the key and its id. */
async function createKey(store: Store, name = 'test'): Promise<{ id: string; key: string; userId: string }> {
  const k = generateApiKey();
  await store.createApiKey({ id: k.id, name, userId: k.userId, keyHash: k.keyHash, createdAt: Date.now() });
  return k;
}

/** Every text value of the key and session tables, read with a separate connection. */
async function credentialTables(server: TestServer): Promise<string> {
  const location = parseDbLocation(server.db);
  if (location.kind === 'sqlite') {
    const db = new Database(location.file, { readonly: true });
    try {
      return JSON.stringify([db.prepare('SELECT * FROM api_keys').all(), db.prepare('SELECT * FROM sessions').all()]);
    } finally {
      db.close();
    }
  }
  return withClient(location.url, async (c) =>
    JSON.stringify([(await c.query('SELECT * FROM sw_ingest.api_keys')).rows, (await c.query('SELECT * FROM sw_ingest.sessions')).rows]));
}

/** Polls `fn` until it answers `status` or `ms` pass; returns the last answer's status. */
async function statusWithin(ms: number, status: number, fn: () => Promise<{ statusCode: number }>): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { statusCode } = await fn();
    if (statusCode === status || Date.now() > deadline) return statusCode;
    await new Promise((r) => setTimeout(r, 50));
  }
}

forEachSink('sessions: API keys, logout, revocation', (sink) => {
  const servers: TestServer[] = [];
  afterEach(async () => {
    while (servers.length > 0) await servers.pop()!.close();
  });
  async function start(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
    const server = await startTestServer({ sink, ...options });
    servers.push(server);
    return server;
  }

  it('logs in with an API key as the key\'s one user, on every login, and stores only hashes', async () => {
    const server = await start();
    const { id, key, userId } = await createKey(server.store);
    assert.match(key, /^swi_[A-Za-z0-9_-]{43}$/);
    assert.equal(userId, `api-key:${id}`);
    const first = await loginApiKey(server.app, key);
    assert.equal(first.statusCode, 200, first.body);
    const a = first.json() as Session;
    const b = (await loginApiKey(server.app, key)).json() as Session;
    assert.equal(a.userId, userId);
    assert.equal(b.userId, userId);
    assert.notEqual(a.refreshToken, b.refreshToken); // two sessions of one user
    const upload = await postBatch(server.app, a.accessToken, oneReading());
    assert.deepEqual(upload.json(), { v: 1, results: [{ s: 'stored' }] });
    assert.equal((await readRows(server))[0]!.owner, userId);

    const tables = await credentialTables(server);
    assert.ok(tables.includes(sha256(key)), 'the key is stored as its SHA-256');
    assert.ok(tables.includes(sha256(a.refreshToken)), 'refresh tokens are stored as their SHA-256');
    for (const secret of [key, a.refreshToken, b.refreshToken, a.accessToken]) assert.ok(!tables.includes(secret), 'no secret in the tables');
  });

  it('refuses an unknown, missing or malformed API key, and other tokens in its place', async () => {
    const server = await start();
    const { key } = await createKey(server.store);
    const anon = await loginAnonymously(server.app);
    for (const [what, bearer] of [
      ['missing', undefined], ['unknown', generateApiKey().key], ['truncated', key.slice(0, -1)],
      ['refresh token', anon.refreshToken], ['access token', anon.accessToken], ['admin key', server.adminKey],
    ] as const) {
      assertUnauthorized(await loginApiKey(server.app, bearer), what);
    }
  });

  it('revoking a key refuses its logins and refreshes at once and its access tokens within the interval, keeping others', async () => {
    const server = await start({ revocationCheckIntervalMs: 300 });
    const revoked = await createKey(server.store, 'revoked');
    const kept = await createKey(server.store, 'kept');
    const s1 = (await loginApiKey(server.app, revoked.key)).json() as Session;
    const s2 = (await loginApiKey(server.app, revoked.key)).json() as Session;
    const other = (await loginApiKey(server.app, kept.key)).json() as Session;
    assert.equal((await postBatch(server.app, s1.accessToken, oneReading())).statusCode, 200);

    // What `sw-ingest keys revoke` does, from outside the app.
    assert.deepEqual(await server.store.revokeApiKey(revoked.id, Date.now()), { sessions: 2, alreadyRevoked: false });
    assert.deepEqual(await server.store.revokeApiKey(revoked.id, Date.now()), { sessions: 0, alreadyRevoked: true });
    assert.equal(await server.store.revokeApiKey('no-such-key', Date.now()), undefined);

    assertUnauthorized(await loginApiKey(server.app, revoked.key), 'login');
    assertUnauthorized(await refresh(server.app, s1.refreshToken), 'refresh 1');
    assertUnauthorized(await refresh(server.app, s2.refreshToken), 'refresh 2');
    assert.equal(await statusWithin(2_000, 401, () => postBatch(server.app, s2.accessToken, oneReading())), 401);
    assertUnauthorized(await postBatch(server.app, s1.accessToken, oneReading()), 'upload');
    // The other key's session is untouched.
    assert.equal((await refresh(server.app, other.refreshToken)).statusCode, 200);
    const before = await countRows(server);
    assert.equal((await postBatch(server.app, other.accessToken, oneReading())).statusCode, 200);
    assert.equal(await countRows(server), before + 1);
    const listed = await server.store.listApiKeys();
    assert.deepEqual(listed.map((k) => [k.name, k.revokedAt !== null]).sort(), [['kept', false], ['revoked', true]]);
  });

  it('logout answers 204, revokes that session at once (refresh and access token), and is idempotent', async () => {
    const server = await start();
    const { key } = await createKey(server.store);
    const phone = (await loginApiKey(server.app, key)).json() as Session;
    const laptop = (await loginApiKey(server.app, key)).json() as Session;
    const anon = await loginAnonymously(server.app);

    const res = await logout(server.app, phone.refreshToken);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assertUnauthorized(await refresh(server.app, phone.refreshToken), 'refresh after logout');
    assertUnauthorized(await postBatch(server.app, phone.accessToken, oneReading()), 'upload after logout');
    assert.equal((await logout(server.app, phone.refreshToken)).statusCode, 204); // again
    assert.equal((await logout(server.app, 'never-issued')).statusCode, 204);
    assertUnauthorized(await logout(server.app), 'logout without a token');
    // Another session of the same user, and another user, carry on.
    assert.equal((await postBatch(server.app, laptop.accessToken, oneReading())).statusCode, 200);
    assert.equal((await refresh(server.app, laptop.refreshToken)).statusCode, 200);
    assert.equal((await logout(server.app, anon.refreshToken)).statusCode, 204);
    assertUnauthorized(await refresh(server.app, anon.refreshToken), 'anonymous refresh after logout');
    assert.equal(await countRows(server), 1);
  });

  it('a logout on one server stops the session\'s access tokens on another server of the same database', async () => {
    const a = await start({ revocationCheckIntervalMs: 300 });
    const b = await startTestServer({ reuse: a, revocationCheckIntervalMs: 300 });
    try {
      const session = await loginAnonymously(a.app);
      assert.equal((await postBatch(b.app, session.accessToken, oneReading())).statusCode, 200);
      assert.equal((await logout(a.app, session.refreshToken)).statusCode, 204);
      const started = Date.now();
      assert.equal(await statusWithin(3_000, 401, () => postBatch(b.app, session.accessToken, oneReading())), 401);
      assert.ok(Date.now() - started < 3_000);
      assertUnauthorized(await refresh(b.app, session.refreshToken));
    } finally {
      await b.close({ keepData: true });
    }
  });

  it('with revocationCheckIntervalMs 0 every upload reads the database: a revoked key stops its next upload', async () => {
    const server = await start({ revocationCheckIntervalMs: 0 });
    const { id, key } = await createKey(server.store);
    const session = (await loginApiKey(server.app, key)).json() as Session;
    assert.equal((await postBatch(server.app, session.accessToken, oneReading())).statusCode, 200);
    await server.store.revokeApiKey(id, Date.now());
    assertUnauthorized(await postBatch(server.app, session.accessToken, oneReading()));
  });

  it('migrates a version 1 database: each anonymous user becomes a session, and its tokens keep working', async () => {
    // A database as sw-ingest 0.1 left it: layout 1, one user, an access token without "sid".
    const userId = '2b7e1516-28ae-4d2a-a6ab-f7158809cf4f';
    const refreshToken = 'v1-refresh-token-0123456789abcdefghijklmnopqrstu';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-test-'));
    let db: string;
    let drop = async (): Promise<void> => {};
    if (sink === 'sqlite') {
      db = `sqlite:${path.join(dir, 'ingest.db')}`;
      const raw = new Database(path.join(dir, 'ingest.db'));
      raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
      raw.exec(MIGRATIONS[0]!.sql);
      raw.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0)').run();
      raw.prepare('INSERT INTO users (id, refresh_token_hash, created_at) VALUES (?, ?, 0)').run(userId, sha256(refreshToken));
      raw.close();
    } else {
      const created = await createTestDatabase();
      db = created.url;
      drop = () => created.drop();
      await withClient(db, async (c) => {
        await c.query('CREATE SCHEMA sw_ingest');
        await c.query('CREATE TABLE sw_ingest.schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
        await c.query(PG_MIGRATIONS[0]!.sql);
        await c.query('INSERT INTO sw_ingest.schema_migrations VALUES (1, 0)');
        await c.query('INSERT INTO sw_ingest.users (id, refresh_token_hash, created_at) VALUES ($1, $2, 0)', [userId, sha256(refreshToken)]);
      });
    }
    const server = await startTestServer({ reuse: { sink, dir, db } });
    try {
      const res = await refresh(server.app, refreshToken);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((res.json() as Session).userId, userId);
      // A token signed before the upgrade (no "sid") is the session whose id is the user id.
      const oldToken = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId)
        .setIssuer('sw-ingest').setExpirationTime('5m').sign(new TextEncoder().encode(server.jwtSecret));
      assert.equal((await postBatch(server.app, oldToken, oneReading())).statusCode, 200);
      assert.equal((await logout(server.app, refreshToken)).statusCode, 204);
      assertUnauthorized(await postBatch(server.app, oldToken, oneReading()), 'old token after logout');
    } finally {
      await server.close();
      await drop();
    }
  });
});
