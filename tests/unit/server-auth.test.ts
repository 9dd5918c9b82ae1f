import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { SignJWT } from 'jose';
import type { Session } from '../../lib/protocol.js';
import {
  countRows, encodeTestUpload, loginAnonymously, postBatch, startTestServer, type TestServer,
} from '../helpers/server-inject.js';

const oneReading = () => encodeTestUpload([{ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } }]);

function assertUnauthorized(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }): void {
  assert.equal(res.statusCode, 401);
  assert.equal(res.headers['www-authenticate'], 'Bearer');
  assert.equal((res.json() as { error: { code: string } }).error.code, 'unauthorized');
}

describe('authentication', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('logs in anonymously with a JWT access token and an opaque refresh token', async () => {
    server = await startTestServer({ accessTokenTtlSec: 60 });
    const before = Date.now();
    const session = await loginAnonymously(server.app);
    assert.match(session.userId, /^[0-9a-f-]{36}$/);
    assert.equal(session.accessToken.split('.').length, 3);
    assert.match(session.refreshToken, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(session.accessTokenExpiresAt >= before + 59_000 && session.accessTokenExpiresAt <= Date.now() + 60_000);
  });

  it('refuses uploads with a missing, garbage, foreign or expired token, storing nothing', async () => {
    server = await startTestServer();
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
    assert.equal(countRows(server.dbFile), 0);
  });

  it('refreshes a session into a working access token for the same user', async () => {
    server = await startTestServer();
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
    assert.equal(countRows(server.dbFile), 1);
  });

  it('refuses a refresh without a valid refresh token', async () => {
    server = await startTestServer();
    const session = await loginAnonymously(server.app);
    for (const auth of [undefined, 'Bearer nonsense', `Bearer ${session.accessToken}`, `Basic ${session.refreshToken}`]) {
      const res = await server.app.inject({
        method: 'POST', url: '/api/ingest/auth/refresh', headers: auth === undefined ? {} : { authorization: auth },
      });
      assertUnauthorized(res);
    }
  });

  it('answers 403 anonymous-disabled when anonymous login is off', async () => {
    server = await startTestServer({ anonymous: false });
    const res = await server.app.inject({ method: 'POST', url: '/api/ingest/auth/anonymous' });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'anonymous-disabled');
  });

  it('creates jwt-secret and admin-key with mode 0600 and reuses them after a restart', async () => {
    server = await startTestServer();
    const { dir, adminKey, jwtSecret } = server;
    for (const name of ['jwt-secret', 'admin-key']) {
      assert.equal(fs.statSync(path.join(dir, name)).mode & 0o777, 0o600, name);
    }
    assert.equal(fs.readFileSync(path.join(dir, 'admin-key'), 'utf8').trim(), adminKey);
    const session = await loginAnonymously(server.app);
    await server.close({ keepDir: true });

    server = await startTestServer({ dir });
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

  it('writes no admin-key file when an admin key is given', async () => {
    server = await startTestServer({ adminKey: 'given-admin-key-0123456789' });
    assert.equal(server.adminKey, 'given-admin-key-0123456789');
    assert.equal(fs.existsSync(path.join(server.dir, 'admin-key')), false);
    assert.equal(fs.existsSync(path.join(server.dir, 'jwt-secret')), true);
  });
});
