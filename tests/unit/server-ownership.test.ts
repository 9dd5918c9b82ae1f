// Ownership: the server stamps every row with the uploading user; a type
// that declares `_owner` must carry that user's id there or the record is
// rejected (`owner-mismatch`); and no route hands stored data to a user's
// token — only the admin key reads.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { parseSchema, type ObjectSchema } from '../../core/schema.js';
import { buildApp } from '../../server/app.js';
import { SqliteStore } from '../../server/sqlite-store.js';
import {
  adminGet, countRows, encodeTestUpload, forEachSink, loginAnonymously, postBatch, readRows, startTestServer, type TestServer,
} from '../helpers/server-inject.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const OWNED_SCHEMA: ObjectSchema[] = [
  { name: 'Note', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', _owner: 'string?', text: 'string' } },
  { name: 'Reading', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', sensor: 'string', value: 'double' } },
];

forEachSink('ownership', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('stores a record whose _owner is the uploader (or absent) and rejects one that claims another owner', async () => {
    server = await startTestServer({ sink, schema: OWNED_SCHEMA });
    const alice = await loginAnonymously(server.app);
    const bob = await loginAnonymously(server.app);
    const note = (extra: Record<string, unknown>) => ({ c: 'Note', doc: { _id: new ObjectId(), text: 'hi', ...extra } });
    const res = await postBatch(server.app, alice.accessToken, encodeTestUpload([
      note({ _owner: alice.userId }),
      note({ _owner: bob.userId }),
      note({}),
      note({ _owner: null }),
      note({ _owner: `${alice.userId} ` }),
      { c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } },
    ]));
    assert.equal(res.statusCode, 200);
    const { results } = res.json();
    assert.deepEqual(results.map((r: { s: string; code?: string }) => r.code ?? r.s),
      ['stored', 'owner-mismatch', 'stored', 'stored', 'owner-mismatch', 'stored']);
    assert.match(results[1].message, /Note\._owner: .*claims the owner/);
    const rows = await readRows(server);
    assert.equal(rows.length, 4);
    assert.ok(rows.every((r) => r.owner === alice.userId), 'every row is stamped with the uploader');
  });

  it('stamps the uploader even on types without _owner: a client cannot choose its owner column', async () => {
    server = await startTestServer({ sink });
    const alice = await loginAnonymously(server.app);
    // An undeclared "_owner" (or "owner") is an unknown field like any other.
    const res = await postBatch(server.app, alice.accessToken, encodeTestUpload([
      { c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1), _owner: 'someone-else' } },
      { c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1) } },
    ]));
    assert.deepEqual(res.json().results.map((r: { s: string; code?: string }) => r.code ?? r.s), ['unknown-field', 'stored']);
    assert.deepEqual((await readRows(server)).map((r) => r.owner), [alice.userId]);
  });

  it('no route returns stored data to a user\'s token: only the admin key reads', async () => {
    server = await startTestServer({ sink, demo: false });
    const user = await loginAnonymously(server.app);
    assert.equal((await postBatch(server.app, user.accessToken, encodeTestUpload([
      { c: 'Event', doc: { _id: 'secret-event', kind: 'private' } },
    ]))).statusCode, 200);
    for (const url of [
      '/api/admin/collections/Event/count', '/api/admin/collections/Event/export', '/api/admin/collections/Event/export?meta=true',
      '/api/ingest/batches', '/api/ingest/collections/Event', '/api/demo/summary', '/api/ingest/auth/refresh',
    ]) {
      for (const method of ['GET', 'POST'] as const) {
        const res = await server.app.inject({ method, url, headers: { authorization: `Bearer ${user.accessToken}` } });
        assert.ok(!res.body.includes('secret-event') && !res.body.includes('private'), `${method} ${url} leaked data: ${res.body}`);
        assert.ok([400, 401, 404, 415].includes(res.statusCode), `${method} ${url}: ${res.statusCode}`);
      }
    }
    const refreshAsAdmin = await adminGet(server, '/api/admin/collections/Event/export', user.refreshToken);
    assert.equal(refreshAsAdmin.statusCode, 401);
    assert.match((await adminGet(server, '/api/admin/collections/Event/export')).body, /secret-event/);
    assert.equal(await countRows(server), 1);
  });
});

describe('the routes a user token can reach', () => {
  it('are exactly the credential routes and the upload, none of which returns documents', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-routes-'));
    const store = new SqliteStore(path.join(dir, 'ingest.db'));
    try {
      const app = buildApp({ store, schema: parseSchema(OWNED_SCHEMA), adminKey: 'admin-key-0123456789', jwtSecret: 'jwt-secret-0123456789' });
      const routes: string[] = [];
      app.addHook('onRoute', (r) => {
        for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push(`${m} ${r.url}`);
      });
      await app.ready();
      // /metrics is behind the admin key like /api/admin (and holds counts, never documents).
      const user = routes.filter((r) => !r.includes('/api/admin/') && r !== 'GET /metrics').sort();
      assert.deepEqual(user, [
        'POST /api/ingest/auth/anonymous', 'POST /api/ingest/auth/api-key', 'POST /api/ingest/auth/jwt',
        'POST /api/ingest/auth/logout', 'POST /api/ingest/auth/refresh', 'POST /api/ingest/batches',
      ], 'a new route outside /api/admin must be reviewed: users must never read data back');
      await app.close();
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a schema whose _owner is not a string', () => {
    const store = {} as never;
    for (const type of ['int', 'string[]', 'objectId']) {
      const schema = parseSchema([{ name: 'T', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', _owner: type } }]);
      assert.throws(() => buildApp({ store, schema, adminKey: 'a', jwtSecret: 'b' }), /T\._owner .*must be "string"/);
    }
  });
});
