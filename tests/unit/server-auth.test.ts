import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { SignJWT } from 'jose';
import type { Session } from '../../core/protocol.js';
import {
  countRows, encodeTestUpload, loginAnonymously, postBatch, forEachSink, startTestServer, type TestServer,
} from '../helpers/server-inject.js';
import { withClient } from '../helpers/postgres.js';

const oneReading = () => encodeTestUpload([{ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } }]);

/**
 * The secrets as stored: files in the data directory (SQLite, each checked
 * for mode 0600), or rows of `sw_ingest.secrets` (PostgreSQL, with no files).
 */
async function storedSecrets(server: TestServer): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const files = ['jwt-secret', 'admin-key'].filter((name) => fs.existsSync(path.join(server.dir, name)));
  if (server.sink === 'postgres') {
    assert.deepEqual(files, [], 'no secret files next to a shared database');
    await withClient(server.db, async (c) => {
      for (const r of (await c.query('SELECT name, value FROM sw_ingest.secrets')).rows) found[r.name] = r.value;
    });
    return found;
  }
  for (const name of files) {
    const file = path.join(server.dir, name);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, name);
    found[name] = fs.readFileSync(file, 'utf8').trim();
  }
  return found;
}

function assertUnauthorized(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }): void {
  assert.equal(res.statusCode, 401);
  assert.equal(res.headers['www-authenticate'], 'Bearer');
  assert.equal((res.json() as { error: { code: string } }).error.code, 'unauthorized');
}

forEachSink('authentication', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('logs in anonymously with a JWT access token and an opaque refresh token', async () => {
    server = await startTestServer({ sink, accessTokenTtlSec: 60 });
    const before = Date.now();
    const session = await loginAnonymously(server.app);
    assert.match(session.userId, /^[0-9a-f-]{36}$/);
    assert.equal(session.accessToken.split('.').length, 3);
    assert.match(session.refreshToken, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(session.accessTokenExpiresAt >= before + 59_000 && session.accessTokenExpiresAt <= Date.now() + 60_000);
  });

  it('refuses uploads with a missing, garbage, foreign or expired token, storing nothing', async () => {
    server = await startTestServer({ sink });
    const session = await loginAnonymously(server.app);
    const key = new TextEncoder().encode(server.jwtSecret);
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(session.userId)
      .setIssuer('sw-ingest').setIssuedAt(1_000_000).setExpirationTime(1_000_060).sign(key);
    const foreign = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(session.userId)
      .setIssuer('sw-ingest').setExpirationTime('5m').sign(new TextEncoder().encode('some-other-secret-of-enough-length'));
    const wrongIssuer = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(session.userId)
      .setIssuer('someone-else').setExpirationTime('5m').sign(key);

    for (const token of [undefined, 'garbage', expired, foreign, wrongIssuer, session.refreshToken, server.adminKey]) {
      assertUnauthorized(await postBatch(server.app, token, oneReading()));
    }
    const expiredRes = await postBatch(server.app, expired, oneReading());
    assert.match((expiredRes.json() as { error: { message: string } }).error.message, /expired/);
    assert.equal(await countRows(server), 0);
  });

  it('refreshes a session into a working access token for the same user', async () => {
    server = await startTestServer({ sink });
    const session = await loginAnonymously(server.app);
    const res = await server.app.inject({
      method: 'POST', url: '/api/ingest/auth/refresh', headers: { authorization: `Bearer ${session.refreshToken}` },
    });
    assert.equal(res.statusCode, 200);
    const fresh = res.json() as Session;
    assert.equal(fresh.userId, session.userId);
    assert.equal(fresh.refreshToken, session.refreshToken); // not rotated
    const upload = await postBatch(server.app, fresh.accessToken, oneReading());
    assert.deepEqual(upload.json(), { v: 1, results: [{ s: 'stored' }] });
    assert.equal(await countRows(server), 1);
  });

  it('refuses a refresh without a valid refresh token', async () => {
    server = await startTestServer({ sink });
    const session = await loginAnonymously(server.app);
    for (const auth of [undefined, 'Bearer nonsense', `Bearer ${session.accessToken}`, `Basic ${session.refreshToken}`]) {
      const res = await server.app.inject({
        method: 'POST', url: '/api/ingest/auth/refresh', headers: auth === undefined ? {} : { authorization: auth },
      });
      assertUnauthorized(res);
    }
  });

  it('answers 403 anonymous-disabled when anonymous login is off', async () => {
    server = await startTestServer({ sink, anonymous: false });
    const res = await server.app.inject({ method: 'POST', url: '/api/ingest/auth/anonymous' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'anonymous-disabled');
  });

  it(sink === 'sqlite'
    ? 'creates jwt-secret and admin-key files with mode 0600 and reuses them after a restart'
    : 'keeps jwt-secret and admin-key in the database, no files, and reuses them after a restart', async () => {
    server = await startTestServer({ sink });
    const { adminKey, jwtSecret } = server;
    assert.deepEqual(await storedSecrets(server), { 'jwt-secret': jwtSecret, 'admin-key': adminKey });
    const session = await loginAnonymously(server.app);
    const previous = server;
    await server.close({ keepData: true });

    server = await startTestServer({ reuse: previous });
    assert.equal(server.adminKey, adminKey);
    assert.equal(server.jwtSecret, jwtSecret);
    // Tokens issued before the restart keep working.
    const upload = await postBatch(server.app, session.accessToken, oneReading());
    assert.equal(upload.statusCode, 200);
    const refresh = await server.app.inject({
      method: 'POST', url: '/api/ingest/auth/refresh', headers: { authorization: `Bearer ${session.refreshToken}` },
    });
    assert.equal(refresh.statusCode, 200);
  });

  it('stores no admin key when one is given', async () => {
    server = await startTestServer({ sink, adminKey: 'given-admin-key-0123456789' });
    assert.equal(server.adminKey, 'given-admin-key-0123456789');
    assert.deepEqual(await storedSecrets(server), { 'jwt-secret': server.jwtSecret });
  });
});
