import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { SERVER_ERRORS } from '../../core/protocol.js';
import {
  countRows, encodeTestUpload, loginAnonymously, postBatch, forEachSink, startTestServer, type TestServer,
} from '../helpers/server-inject.js';

const reading = () => ({ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } });

/** Asserts the catalogue shape: JSON, the code's status, no stack. */
function assertError(res: { statusCode: number; headers: Record<string, unknown>; body: string }, code: keyof typeof SERVER_ERRORS): void {
  assert.equal(res.statusCode, SERVER_ERRORS[code].status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.doesNotMatch(res.body, /\bat .+:\d+:\d+/); // no stack frames
}

forEachSink('error replies', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers 415 for uploads that are not application/bson', async () => {
    server = await startTestServer({ sink });
    const { accessToken } = await loginAnonymously(server.app);
    const body = encodeTestUpload([reading()]);
    assertError(await postBatch(server.app, accessToken, body, { 'content-type': 'application/octet-stream' }), 'unsupported-media-type');
    assertError(await postBatch(server.app, accessToken, '{"v":1}', { 'content-type': 'application/json' }), 'unsupported-media-type');
    assertError(await postBatch(server.app, accessToken, body, { 'content-type': 'application/bson', 'content-encoding': 'gzip' }), 'unsupported-media-type');
    const noType = await server.app.inject({
      method: 'POST', url: '/api/ingest/batches', headers: { authorization: `Bearer ${accessToken}` }, payload: body,
    });
    assertError(noType, 'unsupported-media-type');
    // A parameter on the media type is fine.
    const ok = await postBatch(server.app, accessToken, body, { 'content-type': 'application/BSON; charset=binary' });
    assert.equal(ok.statusCode, 200);
  });

  it('answers 413 JSON for a body over the limit and stores nothing', async () => {
    server = await startTestServer({ sink, bodyLimitBytes: 1024 });
    const { accessToken } = await loginAnonymously(server.app);
    const big = encodeTestUpload(Array.from({ length: 30 }, reading));
    assert.ok(big.length > 1024);
    assertError(await postBatch(server.app, accessToken, big), 'body-too-large');
    assert.equal(await countRows(server), 0);
  });

  it('answers 404 JSON for unknown routes and methods', async () => {
    server = await startTestServer({ sink });
    assertError(await server.app.inject({ method: 'GET', url: '/nope' }), 'not-found');
    assertError(await server.app.inject({ method: 'GET', url: '/api/ingest/batches' }), 'not-found');
  });

  it('answers 400 JSON for a JSON body that does not parse', async () => {
    server = await startTestServer({ sink });
    const res = await server.app.inject({
      method: 'POST', url: '/api/ingest/auth/anonymous', headers: { 'content-type': 'application/json' }, payload: '{"a":',
    });
    assertError(res, 'bad-request');
    // An empty JSON body is fine: the auth routes take none.
    const empty = await server.app.inject({
      method: 'POST', url: '/api/ingest/auth/anonymous', headers: { 'content-type': 'application/json' }, payload: '',
    });
    assert.equal(empty.statusCode, 200);
  });

  it('answers 500 internal without details when the store fails', async () => {
    server = await startTestServer({ sink });
    const { accessToken } = await loginAnonymously(server.app);
    await server.store.close(); // a real failure: better-sqlite3 refuses a closed connection
    const res = await postBatch(server.app, accessToken, encodeTestUpload([reading()]));
    assertError(res, 'internal');
    assert.equal(res.json().error.message, SERVER_ERRORS.internal.message);
  });

  it('answers health', async () => {
    server = await startTestServer({ sink });
    const res = await server.app.inject({ method: 'GET', url: '/api/health' });
    assert.deepEqual(res.json(), { ok: true });
  });

  it('serves the static directory, with no-cache on service worker scripts', async () => {
    const tmp = await startTestServer({ sink });
    const staticDir = path.join(tmp.dir, 'www');
    fs.mkdirSync(staticDir);
    fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>demo</title>');
    fs.writeFileSync(path.join(staticDir, 'sw-ingest-sw.js'), 'self.addEventListener("sync", () => {});');
    fs.writeFileSync(path.join(staticDir, 'app.js'), 'console.log(1);');
    await tmp.close({ keepData: true });
    server = await startTestServer({ reuse: tmp, staticDir });

    const index = await server.app.inject({ method: 'GET', url: '/' });
    assert.equal(index.statusCode, 200);
    assert.match(index.body, /<title>demo<\/title>/);
    const sw = await server.app.inject({ method: 'GET', url: '/sw-ingest-sw.js' });
    assert.equal(sw.statusCode, 200);
    assert.equal(sw.headers['cache-control'], 'no-cache');
    const app = await server.app.inject({ method: 'GET', url: '/app.js' });
    assert.notEqual(app.headers['cache-control'], 'no-cache');
    assertError(await server.app.inject({ method: 'GET', url: '/missing.js' }), 'not-found');
    // API routes still win over the static wildcard.
    assert.deepEqual((await server.app.inject({ method: 'GET', url: '/api/health' })).json(), { ok: true });
  });
});
