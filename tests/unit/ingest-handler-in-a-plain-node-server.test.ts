// createIngestHandler inside a plain node:http server that serves its own
// pages and hands the API's requests over (the README's Express form is
// the same call with `next`). Over a real socket, on both sinks: a login
// and an upload store every record once, the admin routes under the
// prefix agree, the host's own routes answer — including URLs that only
// look like the prefix — and closing the server, then the handler,
// releases the database.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { createIngestHandler, type IngestHandler } from '../../server/index.js';
import { isDatabaseHeld } from '../helpers/database-handles.js';
import { login, range, readingUpload, upload } from '../helpers/http-upload.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { countRows, forEachSink } from '../helpers/server-inject.js';

const SCHEMA_FILE = path.resolve(import.meta.dirname, '../fixtures/schema.json');
const ADMIN_KEY = 'plain-node-admin-key-0123456789';
const N = 400;

forEachSink('createIngestHandler in a plain node:http server', (sink) => {
  let dir: string;
  let database: TestDatabase | undefined;
  let db: string;
  let ingest: IngestHandler;
  let server: http.Server;
  let url: string;
  let released = false;
  /** URLs the host answered itself, in order. */
  const hostSaw: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-handler-'));
    if (sink === 'postgres') database = await createTestDatabase();
    db = database?.url ?? `sqlite:${path.join(dir, 'ingest.db')}`;
    ingest = await createIngestHandler({ schema: SCHEMA_FILE, db, dataDir: dir, adminKey: ADMIN_KEY, admin: true });
    server = http.createServer((req, res) => {
      // The Express form: a middleware that calls next() for what is not the API's.
      ingest.handle(req, res, () => {
        hostSaw.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><h1>the host page</h1>');
      });
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    if (!released) {
      server.close();
      await ingest.close();
    }
    await database?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`stores ${N} records once, sent twice through the host's server`, async () => {
    const { accessToken } = await login(url);
    const first = await upload(url, accessToken, readingUpload(range(0, N)));
    assert.ok('status' in first && first.status === 200, JSON.stringify(first).slice(0, 300));
    assert.deepEqual(new Set(first.results!.map((r) => r.s)), new Set(['stored']));
    const again = await upload(url, accessToken, readingUpload(range(0, N)));
    assert.ok('status' in again && again.status === 200);
    assert.deepEqual(new Set(again.results!.map((r) => r.s)), new Set(['duplicate']));

    assert.equal(await countRows({ db }, 'Reading'), N, 'rows in the database, read directly');
    const count = await fetch(`${url}/api/ingest/admin/collections/Reading/count`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.deepEqual(await count.json(), { count: N });
    assert.deepEqual(hostSaw, [], 'the host never saw an API request');
  });

  it("answers the host's own 3 URLs with the host's page, and 404s in the prefix in the catalogue shape", async () => {
    for (const p of ['/', '/about?x=1', '/api/ingestion']) {
      const res = await fetch(`${url}${p}`);
      assert.equal(res.status, 200, p);
      assert.match(await res.text(), /the host page/, p);
    }
    assert.deepEqual(hostSaw, ['/', '/about?x=1', '/api/ingestion']);
    assert.equal(ingest.handle({ url: '/elsewhere' } as http.IncomingMessage, {} as http.ServerResponse), false, 'not the API: false, the response untouched');

    const missing = await fetch(`${url}/api/ingest/no-such-route?a=b`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: { code: 'not-found', message: 'No route GET /api/ingest/no-such-route.' } });
  });

  it('releases the database once the server and then the handler are closed, after 1 close each', async () => {
    assert.equal(await isDatabaseHeld(db, 0), true, 'held while the handler is open');
    await new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
    });
    await ingest.close();
    released = true;
    assert.equal(await isDatabaseHeld(db), false, 'released once the handler is closed');
    await ingest.close(); // a second close does nothing
  });
});
