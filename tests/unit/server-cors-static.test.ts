// The browser-facing edges: the CORS allow-list of the ingest API
// (preflights with Authorization and Content-Type: application/bson, the
// answers a service worker must be able to read, refusals for other
// origins), security headers on static files and API answers, and path
// traversal against --static over a real socket (no URL normalisation).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { DEFAULT_CSP, normalizeOrigin } from '../../server/app.js';
import { encodeTestUpload, loginAnonymously, postBatch, startTestServer, type TestServer } from '../helpers/server-inject.js';

const APP = 'https://app.example.com';
const OTHER = 'https://evil.example.net';
const oneReading = () => encodeTestUpload([{ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } }]);

function preflight(server: TestServer, origin: string | undefined, url = '/api/ingest/batches', headers = 'authorization,content-type') {
  return server.app.inject({
    method: 'OPTIONS', url,
    headers: {
      ...(origin === undefined ? {} : { origin }),
      'access-control-request-method': 'POST',
      'access-control-request-headers': headers,
    },
  });
}

describe('CORS allow-list', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers preflights from a listed origin for every ingest route, with the headers the worker sends', async () => {
    server = await startTestServer({ corsOrigins: [APP, 'http://localhost:5173'] });
    for (const url of ['/api/ingest/batches', '/api/ingest/auth/anonymous', '/api/ingest/auth/api-key', '/api/ingest/auth/jwt', '/api/ingest/auth/refresh', '/api/ingest/auth/logout']) {
      const res = await preflight(server, APP, url);
      assert.equal(res.statusCode, 204, url);
      assert.equal(res.headers['access-control-allow-origin'], APP);
      assert.match(String(res.headers['access-control-allow-methods']), /POST/);
      assert.match(String(res.headers['access-control-allow-headers']), /Authorization/i);
      assert.match(String(res.headers['access-control-allow-headers']), /Content-Type/i);
      assert.equal(res.headers['access-control-max-age'], '600');
      assert.equal(res.headers['access-control-allow-credentials'], undefined, 'bearer tokens, never cookies');
      assert.match(String(res.headers.vary), /Origin/);
    }
    assert.equal((await preflight(server, 'http://localhost:5173')).headers['access-control-allow-origin'], 'http://localhost:5173');
  });

  it('lets a listed origin read every answer (session, upload reply, 401, 429 with Retry-After)', async () => {
    server = await startTestServer({ corsOrigins: [APP], rateLimits: { perUser: 1 } });
    const login = await server.app.inject({ method: 'POST', url: '/api/ingest/auth/anonymous', headers: { origin: APP } });
    assert.equal(login.headers['access-control-allow-origin'], APP);
    const { accessToken } = login.json();
    const ok = await postBatch(server.app, accessToken, oneReading(), { origin: APP });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
    const limited = await postBatch(server.app, accessToken, oneReading(), { origin: APP });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers['access-control-allow-origin'], APP);
    assert.match(String(limited.headers['access-control-expose-headers']), /Retry-After/i);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    const denied = await postBatch(server.app, 'nope', oneReading(), { origin: APP });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers['access-control-allow-origin'], APP);
  });

  it('gives other origins nothing: preflight 404 without CORS headers, answers without Access-Control-Allow-Origin', async () => {
    server = await startTestServer({ corsOrigins: [APP] });
    for (const origin of [OTHER, `${APP}.evil.net`, 'https://app.example.com:8443', 'http://app.example.com', 'null', APP.toUpperCase()]) {
      const res = await preflight(server, origin);
      assert.equal(res.statusCode, 404, origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(res.headers['access-control-allow-headers'], undefined, origin);
      const login: { headers: Record<string, unknown> } = await server.app.inject({ method: 'POST', url: '/api/ingest/auth/anonymous', headers: { origin } });
      assert.equal(login.headers['access-control-allow-origin'], undefined, origin);
    }
    // Admin routes never answer cross-origin, listed or not.
    const admin = await server.app.inject({ method: 'OPTIONS', url: '/api/admin/collections/Reading/count', headers: { origin: APP, 'access-control-request-method': 'GET' } });
    assert.equal(admin.headers['access-control-allow-origin'], undefined);
  });

  it('always works same-origin, and with no list configured answers no cross-origin request', async () => {
    server = await startTestServer();
    const session = await loginAnonymously(server.app); // no Origin header
    const sameOrigin = await postBatch(server.app, session.accessToken, oneReading(), { origin: 'http://localhost:80', host: 'localhost:80' });
    assert.equal(sameOrigin.statusCode, 200);
    const res = await preflight(server, APP);
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  it('accepts only real origins in the list', () => {
    assert.equal(normalizeOrigin('https://app.example.com/'), 'https://app.example.com');
    assert.equal(normalizeOrigin('http://localhost:5173'), 'http://localhost:5173');
    for (const bad of ['*', 'app.example.com', 'https://app.example.com/path', 'ftp://x.example.com', 'https://app.example.com?x', 'null', '']) {
      assert.throws(() => normalizeOrigin(bad), /CORS origin/, bad);
    }
  });
});

describe('security headers and --static', () => {
  let server: TestServer;
  let base: string;
  let secret: string;
  before(async () => {
    const tmp = await startTestServer();
    // Served: <dir>/www. Next to it, never served: <dir>/secret.txt, <dir>/www/.env.
    const www = path.join(tmp.dir, 'www');
    fs.mkdirSync(path.join(www, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(www, 'index.html'), '<!doctype html><title>site</title>');
    fs.writeFileSync(path.join(www, 'sub', 'page.html'), '<!doctype html><title>sub</title>');
    fs.writeFileSync(path.join(www, 'sw-ingest-sw.js'), '// worker');
    fs.writeFileSync(path.join(www, '.env'), 'DOTFILE_SECRET=1');
    secret = 'TOP-SECRET-OUTSIDE-THE-STATIC-DIR';
    fs.writeFileSync(path.join(tmp.dir, 'secret.txt'), secret);
    await tmp.close({ keepData: true });
    server = await startTestServer({ reuse: tmp, staticDir: www });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  /** GET with the path sent exactly as given (fetch would normalise "..", so raw http). */
  function rawGet(rawPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${base}/`, { method: 'GET', path: rawPath }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('sends nosniff, a strict CSP, no referrer, no framing on static files and API answers', async () => {
    for (const p of ['/', '/sub/page.html', '/sw-ingest-sw.js', '/api/health', '/missing']) {
      const { headers } = await rawGet(p);
      assert.equal(headers['x-content-type-options'], 'nosniff', p);
      assert.equal(headers['content-security-policy'], DEFAULT_CSP, p);
      assert.equal(headers['referrer-policy'], 'no-referrer', p);
      assert.equal(headers['x-frame-options'], 'SAMEORIGIN', p);
      assert.equal(headers['cross-origin-opener-policy'], 'same-origin', p);
      assert.equal(headers['x-powered-by'], undefined, p);
    }
    assert.match(DEFAULT_CSP, /script-src 'self'(;|$)/);
    assert.match(DEFAULT_CSP, /frame-ancestors 'none'/);
    assert.match(DEFAULT_CSP, /object-src 'none'/);
  });

  it('never serves a file outside the static directory, nor dotfiles, whatever the encoding', async () => {
    const attempts = [
      '/../secret.txt', '/../../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt',
      '/%2e%2e%2fsecret.txt', '/..%2fsecret.txt', '/..%2Fsecret.txt', '/%252e%252e/secret.txt', '/..%5csecret.txt',
      '/..\\secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/%c0%ae%c0%ae/secret.txt',
      '/..%c0%afsecret.txt', '/..%00/secret.txt', '/secret.txt%00.html', `/${'../'.repeat(20)}etc/passwd`, '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '//secret.txt', '/./../secret.txt', '/.env', '/%2eenv', '/sub/../.env', '/.', '/..',
    ];
    for (const p of attempts) {
      const res = await rawGet(p);
      assert.ok(res.status >= 400 && res.status < 500 || res.status === 301 || res.status === 200 && p === '/.', `${p}: ${res.status}`);
      assert.ok(!res.body.includes(secret) && !res.body.includes('root:') && !res.body.includes('DOTFILE_SECRET'), `${p} leaked: ${res.body.slice(0, 100)}`);
    }
    // What is inside is served.
    assert.match((await rawGet('/sub/page.html')).body, /<title>sub<\/title>/);
    assert.match((await rawGet('/')).body, /<title>site<\/title>/);
    assert.equal((await rawGet('/sub/../index.html')).status, 403); // any ".." segment is refused, even one that stays inside
  });
});
