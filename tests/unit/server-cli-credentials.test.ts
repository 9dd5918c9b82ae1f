// The command line for issue 5, spawned as a user runs it: `sw-ingest keys
// create|list|revoke` against both sinks (and a server on the same
// database honouring them), the credential and limit options of `serve`
// (exit 2 on bad usage), and a whole server run — logins of every kind,
// refresh, uploads, errors, logout, admin reads — whose stdout and stderr,
// at the most verbose log level, hold none of the secrets it handled.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { after, afterEach, before, describe, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Session } from '../../core/protocol.js';
import { assertUnauthorized, loginApiKey, refresh } from '../helpers/auth-requests.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { encodeTestUpload, forEachSink, startTestServer, TEST_SCHEMA, type TestServer } from '../helpers/server-inject.js';



forEachSink('sw-ingest keys', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('create shows the key once, list never shows it, revoke stops a running server\'s sessions', async () => {
    server = await startTestServer({ sink, revocationCheckIntervalMs: 200 });
    const created = await runCli(['keys', 'create', '--name', 'kiosk 7', '--db', server.db]);
    assert.equal(created.code, 0, created.stderr);
    const key = created.stdout.trim();
    assert.match(created.stdout, /^swi_[A-Za-z0-9_-]{43}\n$/);
    const id = /created API key ([0-9a-f]{16}) \("kiosk 7"\) for user api-key:\1/.exec(created.stderr)?.[1];
    assert.ok(id, created.stderr);
    assert.ok(!created.stderr.includes(key));

    const login = await loginApiKey(server.app, key);
    assert.equal(login.statusCode, 200, login.body);
    const session = login.json() as Session;
    assert.equal(session.userId, `api-key:${id}`);

    const listed = await runCli(['keys', 'list', '--db', server.db]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^id +name +user +created +revoked\n/);
    assert.match(listed.stdout, new RegExp(`^${id}  kiosk 7  api-key:${id} +\\d{4}-\\d\\d-\\d\\dT\\S+Z +-$`, 'm'));
    assert.ok(!listed.stdout.includes(key) && !listed.stderr.includes(key));

    const revoked = await runCli(['keys', 'revoke', id!, '--db', server.db]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stderr, new RegExp(`revoked API key ${id} and its 1 session`));
    assertUnauthorized(await loginApiKey(server.app, key), 'login with a revoked key');
    assertUnauthorized(await refresh(server.app, session.refreshToken), 'refresh of its session');
    await new Promise((r) => setTimeout(r, 400));
    const upload = await server.app.inject({
      method: 'POST', url: '/api/ingest/batches', payload: encodeTestUpload([{ c: 'Event', doc: { _id: 'e', kind: 'k' } }]),
      headers: { 'content-type': 'application/bson', authorization: `Bearer ${session.accessToken}` },
    });
    assertUnauthorized(upload, 'upload with an access token of the revoked key');
    assert.match((await runCli(['keys', 'list', '--db', server.db])).stdout, new RegExp(`^${id} .* \\d{4}-\\S+Z +\\d{4}-\\S+Z$`, 'm'));

    const again = await runCli(['keys', 'revoke', id!, '--db', server.db]);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /already revoked/);
    const unknown = await runCli(['keys', 'revoke', 'feedfacefeedface', '--db', server.db]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no API key "feedfacefeedface"/);
  });
});

describe('sw-ingest keys and serve: usage', () => {
  let tmp: string;
  let schemaFile: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-cli-cred-'));
    schemaFile = path.join(tmp, 'schema.json');
    fs.writeFileSync(schemaFile, JSON.stringify(TEST_SCHEMA));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('keys: exit 2 for bad usage, 0 with help, 1 for a database that does not exist', async () => {
    const db = `sqlite:${tmp}/keys.db`;
    for (const args of [
      ['keys'], ['keys', 'frob'], ['keys', 'revoke'], ['keys', 'revoke', 'a', 'b'], ['keys', 'list', 'extra'],
      ['keys', 'list', '--name', 'x'], ['keys', 'create', '--bogus'], ['keys', 'create', '--name', 'tab\there'],
    ]) {
      const res = await runCli([...args, '--db', db]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, /Usage: sw-ingest keys/);
      assert.equal(res.stdout, '');
    }
    const help = await runCli(['keys', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /keys revoke <id>/);
    assert.match((await runCli(['help', 'keys'])).stdout, /keys create/);
    const missing = await runCli(['keys', 'list', '--db', `sqlite:${tmp}/none/x.db`]);
    assert.equal(missing.code, 1);
    // create prepares a new database, so keys can exist before the first serve.
    const created = await runCli(['keys', 'create', '--db', db]);
    assert.equal(created.code, 0, created.stderr);
  });

  it('serve: exit 2 for bad credential, CORS and limit options', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const privateJwks = path.join(tmp, 'private.json');
    fs.writeFileSync(privateJwks, JSON.stringify({ keys: [await exportJWK(rsa.privateKey)] }));
    const base = ['serve', '--schema', schemaFile, '--db', `sqlite:${tmp}/serve.db`, '--port', '0'];
    const secret = 'x'.repeat(40);
    for (const [args, message, env] of [
      [['--cors-origin', '*'], /CORS origin "\*"/],
      [['--cors-origin', 'https://ok.example.com,app.example.com'], /CORS origin "app\.example\.com"/],
      [[], /CORS origin "https:\/\/x\.example\.com\/path"/, { SW_INGEST_CORS_ORIGINS: 'https://x.example.com/path' }],
      [['--jwt-secret', secret], /--jwt-issuer and --jwt-audience/],
      [['--jwt-secret', 'short', '--jwt-issuer', 'i', '--jwt-audience', 'a'], /at least 32 bytes/],
      [['--jwt-secret', secret, '--jwks', privateJwks, '--jwt-issuer', 'i', '--jwt-audience', 'a'], /not both/],
      [['--jwks', privateJwks, '--jwt-issuer', 'i', '--jwt-audience', 'a'], /private key/],
      [['--jwt-issuer', 'i'], /need --jwt-secret or --jwks/],
      [['--jwt-secret', secret, '--jwt-issuer', 'sw-ingest', '--jwt-audience', 'a'], /must not be "sw-ingest"/],
      [['--body-limit', '10'], /--body-limit "10"/],
      [['--rate-limit-user', '-1'], /rate-limit-user/],
      [['--rate-limit-ip', 'lots'], /--rate-limit-ip "lots"/],
      [['--request-timeout', '5'], /--request-timeout "5"/],
    ] as [string[], RegExp, Record<string, string>?][]) {
      const res = await runCli([...base, ...args], env ?? {});
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
      assert.ok(!res.stderr.includes(secret), 'the secret is not echoed');
    }
    const missingJwks = await runCli([...base, '--jwks', path.join(tmp, 'none.json'), '--jwt-issuer', 'i', '--jwt-audience', 'a']);
    assert.equal(missingJwks.code, 1);
    assert.match(missingJwks.stderr, /JWKS file .*none\.json/);
  });
});

forEachSink('a whole server run logs no secret', (sink) => {
  let database: TestDatabase | undefined;
  let dir: string;
  afterEach(async () => {
    await database?.drop();
    database = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stdout and stderr at log level trace hold no secret, key or token of logins, uploads, errors and logout', { timeout: 120_000 }, async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-secrets-'));
    const schemaFile = path.join(dir, 'schema.json');
    fs.writeFileSync(schemaFile, JSON.stringify(TEST_SCHEMA));
    if (sink === 'postgres') database = await createTestDatabase();
    const db = database?.url ?? `sqlite:${dir}/ingest.db`;
    const appJwtSecret = `app-idp-secret-${'s'.repeat(32)}`;
    const issuer = 'https://idp.example.com/';

    // A key made beforehand (its one legitimate printing is that command's stdout, not the server's).
    const created = await runCli(['keys', 'create', '--name', 'log-test', '--db', db]);
    assert.equal(created.code, 0, created.stderr);
    const apiKey = created.stdout.trim();

    const child = startCli(['serve', '--port', '0', '--schema', schemaFile, '--db', db, '--data-dir', dir, '--cors-origin', 'https://app.example.com'], {
      SW_INGEST_LOG_LEVEL: 'trace', SW_INGEST_JWT_HS256_SECRET: appJwtSecret, SW_INGEST_JWT_ISSUER: issuer, SW_INGEST_JWT_AUDIENCE: 'app',
    });
    let output = '';
    child.stderr!.on('data', (d) => { output += d; });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        output += d;
        const m = /sw-ingest listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`exited early: ${output}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const post = (p: string, bearer?: string, body?: Uint8Array, headers: Record<string, string> = {}) => fetch(`${base}/api/ingest${p}`, {
      method: 'POST',
      headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body ? { 'content-type': 'application/bson' } : {}), ...headers },
      ...(body ? { body: body as unknown as BodyInit } : {}),
    });

    const secrets: Record<string, string> = { apiKey, appJwtSecret };
    if (sink === 'sqlite') {
      secrets.jwtSecret = fs.readFileSync(path.join(dir, 'jwt-secret'), 'utf8').trim();
      secrets.adminKey = fs.readFileSync(path.join(dir, 'admin-key'), 'utf8').trim();
    }
    const sessions: Session[] = [];
    sessions.push(await (await post('/auth/anonymous', undefined, undefined, { origin: 'https://app.example.com' })).json() as Session);
    sessions.push(await (await post('/auth/api-key', apiKey)).json() as Session);
    const appJwt = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(issuer).setAudience('app')
      .setSubject('user-1').setExpirationTime('5m').sign(new TextEncoder().encode(appJwtSecret));
    secrets.appJwt = appJwt;
    sessions.push(await (await post('/auth/jwt', appJwt)).json() as Session);
    sessions.push(await (await post('/auth/refresh', sessions[0]!.refreshToken)).json() as Session);
    sessions.forEach((s, i) => {
      assert.ok(s.accessToken && s.refreshToken, `session ${i}`);
      secrets[`access${i}`] = s.accessToken;
      secrets[`refresh${i}`] = s.refreshToken;
    });
    const upload = encodeTestUpload([{ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } }]);
    assert.equal((await post('/batches', sessions[1]!.accessToken, upload)).status, 200);
    // Errors: refused credentials of every kind (with secret-looking guesses), bad bodies, unknown routes, a bad admin key.
    const wrongKey = `swi_${'W'.repeat(43)}`;
    secrets.wrongKey = wrongKey;
    assert.equal((await post('/auth/api-key', wrongKey)).status, 401);
    assert.equal((await post('/auth/jwt', `${appJwt}x`)).status, 401);
    assert.equal((await post('/auth/refresh', `${sessions[0]!.refreshToken}x`)).status, 401);
    assert.equal((await post('/batches', `${sessions[2]!.accessToken}x`, upload)).status, 401);
    assert.equal((await post('/batches', sessions[2]!.accessToken, new Uint8Array([1, 2, 3]))).status, 400);
    assert.equal((await fetch(`${base}/api/admin/collections/Reading/count`, { headers: { authorization: `Bearer ${secrets.adminKey ?? 'x'}y` } })).status, 401);
    assert.equal((await fetch(`${base}/nope?token=${sessions[0]!.accessToken.slice(0, 10)}`)).status, 404);
    assert.equal((await post('/auth/logout', sessions[1]!.refreshToken)).status, 204);
    assert.equal((await post('/batches', sessions[1]!.accessToken, upload)).status, 401);
    if (secrets.adminKey) {
      assert.deepEqual(await (await fetch(`${base}/api/admin/collections/Reading/count`, { headers: { authorization: `Bearer ${secrets.adminKey}` } })).json(), { count: 1 });
    }

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.match(output, /incoming request/, 'trace logging was on');
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(value.length >= 20, name);
      assert.ok(!output.includes(value), `${name} appears in the server's output`);
      // Nor a recognisable part of it (a token's signature, say).
      assert.ok(!output.includes(value.slice(-20)), `the end of ${name} appears in the server's output`);
    }
  });
});
