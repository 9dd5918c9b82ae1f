// Limits: rate limits per client IP, per login IP and per user (429
// `rate-limited` with Retry-After, which the service worker honours), the
// client's address behind a trusted proxy, and the time limit for receiving
// a request (408 `request-timeout` in the catalogue's shape, over a real
// socket). Both sinks.
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { retryAfterMs } from '../../lib/retry-policy.js';
import { countRows, encodeTestUpload, forEachSink, loginAnonymously, postBatch, startTestServer, type TestServer } from '../helpers/server-inject.js';

const oneReading = () => encodeTestUpload([{ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } }]);

function anonymousFrom(server: TestServer, ip: string, headers: Record<string, string> = {}) {
  return server.app.inject({ method: 'POST', url: '/api/ingest/auth/anonymous', remoteAddress: ip, headers });
}

function assertRateLimited(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, windowSec: number): void {
  assert.equal(res.statusCode, 429);
  assert.equal((res.json() as { error: { code: string } }).error.code, 'rate-limited');
  const seconds = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= windowSec, `Retry-After ${String(res.headers['retry-after'])}`);
  // What the service worker makes of it: a wait of at least that long.
  assert.equal(retryAfterMs(String(res.headers['retry-after'])), seconds * 1000);
}

forEachSink('limits', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('limits logins per client IP, each address on its own', async () => {
    server = await startTestServer({ sink, rateLimits: { logins: 3, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) assert.equal((await anonymousFrom(server, '203.0.113.7')).statusCode, 200);
    assertRateLimited(await anonymousFrom(server, '203.0.113.7'), 60);
    assert.equal((await anonymousFrom(server, '203.0.113.8')).statusCode, 200);
    // IPv6 clients are counted per /64: a client cannot dodge by rotating its interface id.
    for (let i = 0; i < 3; i++) assert.equal((await anonymousFrom(server, `2001:db8:1:2::${i + 1}`)).statusCode, 200);
    assertRateLimited(await anonymousFrom(server, '2001:db8:1:2::99'), 60);
  });

  it('limits uploads per user, whatever address they come from, and frees them after the window', async () => {
    server = await startTestServer({ sink, rateLimits: { perUser: 2, windowMs: 1_000 } });
    const alice = await loginAnonymously(server.app);
    const bob = await loginAnonymously(server.app);
    const from = (token: string, ip: string) => server!.app.inject({
      method: 'POST', url: '/api/ingest/batches', remoteAddress: ip, payload: oneReading(),
      headers: { 'content-type': 'application/bson', authorization: `Bearer ${token}` },
    });
    assert.equal((await from(alice.accessToken, '198.51.100.1')).statusCode, 200);
    assert.equal((await from(alice.accessToken, '198.51.100.2')).statusCode, 200);
    const limited = await from(alice.accessToken, '198.51.100.3');
    assertRateLimited(limited, 1);
    assert.equal((await from(bob.accessToken, '198.51.100.1')).statusCode, 200);
    assert.equal(await countRows(server), 3); // the refused upload stored nothing
    await new Promise((r) => setTimeout(r, 1_100));
    assert.equal((await from(alice.accessToken, '198.51.100.1')).statusCode, 200);
  });

  it('limits all ingest requests per client IP; other routes and a trusted proxy\'s clients are counted apart', async () => {
    server = await startTestServer({ sink, rateLimits: { perIp: 4, windowMs: 60_000 }, trustProxy: '127.0.0.1' });
    const session = await loginAnonymously(server.app); // 127.0.0.1 (the proxy, no X-Forwarded-For): 1
    for (let i = 0; i < 3; i++) assert.equal((await postBatch(server.app, session.accessToken, oneReading())).statusCode, 200);
    assertRateLimited(await postBatch(server.app, session.accessToken, oneReading()), 60);
    assertRateLimited(await server.app.inject({ method: 'POST', url: '/api/ingest/auth/refresh', headers: { authorization: `Bearer ${session.refreshToken}` } }), 60);
    // Health and admin routes are not ingest routes.
    assert.equal((await server.app.inject({ method: 'GET', url: '/api/health' })).statusCode, 200);
    // Behind the trusted proxy, each client has its own count.
    const viaProxy = await anonymousFrom(server, '127.0.0.1', { 'x-forwarded-for': '192.0.2.55' });
    assert.equal(viaProxy.statusCode, 200);
    // An untrusted peer cannot pick its address with X-Forwarded-For.
    for (let i = 0; i < 4; i++) await anonymousFrom(server, '192.0.2.200', { 'x-forwarded-for': `10.0.0.${i}` });
    assertRateLimited(await anonymousFrom(server, '192.0.2.200', { 'x-forwarded-for': '10.0.0.99' }), 60);
  });

  it('with rate limits off, nothing is refused', async () => {
    server = await startTestServer({ sink, rateLimits: false });
    for (let i = 0; i < 30; i++) assert.equal((await anonymousFrom(server, '203.0.113.9')).statusCode, 200);
  });

  it('answers 408 request-timeout as JSON to a request whose body does not arrive in time, and stores nothing', async () => {
    server = await startTestServer({ sink, requestTimeoutMs: 1_000 });
    const { accessToken } = await loginAnonymously(server.app);
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.app.server.address() as AddressInfo;
    const body = oneReading();
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        // Headers promise the whole body; half of it is sent, then nothing (a slow-loris upload).
        socket.write(`POST /api/ingest/batches HTTP/1.1\r\nHost: x\r\nContent-Type: application/bson\r\nAuthorization: Bearer ${accessToken}\r\nContent-Length: ${body.length}\r\n\r\n`);
        socket.write(body.subarray(0, body.length >> 1));
      });
      let data = '';
      socket.on('data', (d) => { data += d; });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => { socket.destroy(); reject(new Error(`no answer after 10 s: ${data}`)); }, 10_000);
    });
    const elapsed = Date.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /Content-Type: application\/json/i);
    assert.match(answer, /"code":"request-timeout"/);
    assert.ok(elapsed >= 900 && elapsed < 5_000, `answered after ${elapsed} ms`);
    assert.equal(await countRows(server), 0);
  });
});
