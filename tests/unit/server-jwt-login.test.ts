// Custom JWT login (`POST /api/ingest/auth/jwt`) with tokens minted here:
// an HS256 secret or a JWKS of RSA and EC keys; issuer, audience, expiry and
// the signature checked; `alg: none`, algorithm confusion (an HS256 token
// keyed with the JWKS's own public key), foreign keys, header-supplied keys
// and unpinned algorithms refused. Both sinks (a login writes a session).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { Session } from '../../core/protocol.js';
import { createCustomJwtVerifier } from '../../server/custom-jwt.js';
import { assertUnauthorized, loginJwt, unsignedToken } from '../helpers/auth-requests.js';
import {
  encodeTestUpload, forEachSink, postBatch, readRows, startTestServer, type TestServer,
} from '../helpers/server-inject.js';

const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'sw-ingest-tests';
const SECRET = 'an-hs256-secret-of-at-least-32-bytes-0123456789';
const enc = (s: string) => new TextEncoder().encode(s);
const oneReading = () => encodeTestUpload([{ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } }]);

/** A token with sensible claims (overridable), signed with `key` under `header`. */
function mint(key: Parameters<SignJWT['sign']>[0], header: { alg: string; [k: string]: unknown }, claims: JWTPayload = {}, omit: string[] = []): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { iss: ISSUER, aud: AUDIENCE, sub: 'user-42', iat: now, exp: now + 300, ...claims };
  for (const k of omit) delete payload[k];
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

forEachSink('JWT login', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('is refused with 403 when the server has no JWT configuration', async () => {
    server = await startTestServer({ sink });
    const res = await loginJwt(server.app, await mint(enc(SECRET), { alg: 'HS256' }));
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'forbidden');
  });

  it('HS256: a valid token logs in as jwt:<iss>:<sub> and uploads under that owner', async () => {
    server = await startTestServer({ sink, customJwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } });
    const res = await loginJwt(server.app, await mint(enc(SECRET), { alg: 'HS256', typ: 'JWT' }));
    assert.equal(res.statusCode, 200, res.body);
    const session = res.json() as Session;
    assert.equal(session.userId, `jwt:${ISSUER}:user-42`);
    assert.equal((await postBatch(server.app, session.accessToken, oneReading())).statusCode, 200);
    assert.equal((await readRows(server))[0]!.owner, `jwt:${ISSUER}:user-42`);
    // The app's token is no access token of this server.
    assertUnauthorized(await postBatch(server.app, await mint(enc(SECRET), { alg: 'HS256' }), oneReading()), 'app JWT as access token');
  });

  it('HS256: refuses a wrong issuer, audience, expiry, missing claims, other keys, alg none and unpinned algorithms', async () => {
    server = await startTestServer({ sink, customJwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } });
    const now = Math.floor(Date.now() / 1000);
    const key = enc(SECRET);
    const cases: [string, string | undefined][] = [
      ['no token', undefined],
      ['garbage', 'not.a.jwt'],
      ['wrong issuer', await mint(key, { alg: 'HS256' }, { iss: 'https://evil.example.com/' })],
      ['wrong audience', await mint(key, { alg: 'HS256' }, { aud: 'someone-else' })],
      ['expired', await mint(key, { alg: 'HS256' }, { iat: now - 7200, exp: now - 3600 })],
      ['not yet valid', await mint(key, { alg: 'HS256' }, { nbf: now + 3600 })],
      ['no sub', await mint(key, { alg: 'HS256' }, {}, ['sub'])],
      ['no exp', await mint(key, { alg: 'HS256' }, {}, ['exp'])],
      ['no aud', await mint(key, { alg: 'HS256' }, {}, ['aud'])],
      ['NUL in sub', await mint(key, { alg: 'HS256' }, { sub: 'a\u0000b' })],
      ['another secret', await mint(enc('another-secret-of-at-least-32-bytes-xxxxxx'), { alg: 'HS256' })],
      ['HS512 with the right secret', await mint(key, { alg: 'HS512' })],
      ['alg none', unsignedToken({ iss: ISSUER, aud: AUDIENCE, sub: 'user-42', exp: now + 300 })],
      ['alg None', unsignedToken({ iss: ISSUER, aud: AUDIENCE, sub: 'user-42', exp: now + 300 }, { alg: 'None' })],
      ['alg none with a signature', `${unsignedToken({ iss: ISSUER, aud: AUDIENCE, sub: 'user-42', exp: now + 300 })}c2ln`],
      ['our own access token', (await server.app.inject({ method: 'POST', url: '/api/ingest/auth/anonymous' })).json().accessToken],
    ];
    // A valid token with its payload swapped for another user's.
    const valid = await mint(key, { alg: 'HS256' });
    const [h, , sig] = valid.split('.');
    const forged = Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: 'admin', exp: now + 300 })).toString('base64url');
    cases.push(['payload swapped', `${h}.${forged}.${sig}`]);
    for (const [what, token] of cases) assertUnauthorized(await loginJwt(server.app, token), what);
    // A token within the 30 s clock tolerance still passes.
    assert.equal((await loginJwt(server.app, await mint(key, { alg: 'HS256' }, { exp: now - 10 }))).statusCode, 200);
  });

  it('JWKS: RSA and EC tokens log in; algorithm confusion, foreign keys and keys named by the token are refused', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256', { extractable: true });
    const attacker = await generateKeyPair('RS256', { extractable: true });
    const rsaJwk: JWK = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
    const ecJwk: JWK = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1' };
    server = await startTestServer({ sink, customJwt: { jwks: { keys: [rsaJwk, ecJwk] }, issuer: ISSUER, audience: [AUDIENCE, 'other-app'] } });

    for (const [what, token] of [
      ['RS256', await mint(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' })],
      ['ES256', await mint(ec.privateKey, { alg: 'ES256', kid: 'ec-1' }, { sub: 'user-7' })],
      ['ES256 without kid', await mint(ec.privateKey, { alg: 'ES256' }, { aud: 'other-app' })],
    ] as const) {
      const res = await loginJwt(server.app, token);
      assert.equal(res.statusCode, 200, `${what}: ${res.body}`);
      assert.match((res.json() as Session).userId, /^jwt:https:\/\/idp\.example\.com\/:user-(42|7)$/);
    }

    const pem = await exportSPKI(rsa.publicKey);
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'rsa-1' };
    for (const [what, token] of [
      // Algorithm confusion: HS256 keyed with what the attacker knows, the public key.
      ['HS256 keyed with the RSA public key (PEM)', await mint(enc(pem), { alg: 'HS256', kid: 'rsa-1' })],
      ['HS256 keyed with the RSA public key (JWK)', await mint(enc(JSON.stringify(rsaJwk)), { alg: 'HS256', kid: 'rsa-1' })],
      ['HS256 keyed with the modulus', await mint(Buffer.from(rsaJwk.n!, 'base64url'), { alg: 'HS256' })],
      ['a foreign RSA key under a known kid', await mint(attacker.privateKey, { alg: 'RS256', kid: 'rsa-1' })],
      ['an unknown kid', await mint(attacker.privateKey, { alg: 'RS256', kid: 'nope' })],
      ['the key in the token header (jwk)', await mint(attacker.privateKey, { alg: 'RS256', jwk: attackerJwk })],
      ['a key URL in the token header (jku)', await mint(attacker.privateKey, { alg: 'RS256', jku: 'http://127.0.0.1:1/jwks.json', kid: 'x' })],
      ['alg none', unsignedToken({ iss: ISSUER, aud: AUDIENCE, sub: 'user-42', exp: Math.floor(Date.now() / 1000) + 300 }, { alg: 'none', kid: 'rsa-1' })],
      ['RS256 with the wrong issuer', await mint(rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' }, { iss: 'https://evil.example.com/' })],
      ['ES256 expired', await mint(ec.privateKey, { alg: 'ES256', kid: 'ec-1' }, { exp: Math.floor(Date.now() / 1000) - 3600 })],
    ] as const) {
      assertUnauthorized(await loginJwt(server.app, token), what);
    }
  });
});

describe('JWT login configuration', () => {
  it('refuses unsafe or incomplete settings', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const pub = await exportJWK(rsa.publicKey);
    const priv = await exportJWK(rsa.privateKey);
    const base = { issuer: ISSUER, audience: AUDIENCE };
    for (const [config, message] of [
      [{ ...base }, /either an HS256 secret or a JWKS/],
      [{ ...base, secret: SECRET, jwks: { keys: [pub] } }, /either an HS256 secret or a JWKS/],
      [{ ...base, secret: 'short' }, /at least 32 bytes/],
      [{ ...base, secret: SECRET, issuer: '' }, /issuer/],
      [{ ...base, secret: SECRET, issuer: 'sw-ingest' }, /must not be "sw-ingest"/],
      [{ ...base, secret: SECRET, audience: '' }, /audience/],
      [{ ...base, jwks: { keys: [] } }, /at least one key/],
      [{ ...base, jwks: { keys: [priv] } }, /private key/],
      [{ ...base, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, /symmetric key/],
      [{ ...base, jwks: { keys: [{ ...pub, alg: 'HS256' }] } }, /alg "HS256"/],
    ] as const) {
      assert.throws(() => createCustomJwtVerifier(config as never), message as RegExp, JSON.stringify(config).slice(0, 80));
    }
  });
});
