// createIngestServer is the composition root `sw-ingest serve` runs: built
// in-process with a static site, an admin key and the demo routes, it has
// health, the site, the ingest API, the admin API and the demo summary,
// and they agree on what one upload stored; probed side by side with the
// CLI started on the same options, every answer matches; closing it closes
// the database. Both sinks; imported by the package name (`npm run build` first).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { EJSON } from 'bson';
import type { FastifyInstance } from 'fastify';
import { createIngestServer } from 'sw-ingest-server';
import { startCli } from '../helpers/cli.js';
import { isDatabaseHeld } from '../helpers/database-handles.js';
import { login, range, readingId, readingUpload, upload } from '../helpers/http-upload.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { countRows, forEachSink } from '../helpers/server-inject.js';

const SCHEMA_FILE = path.resolve(import.meta.dirname, '../fixtures/schema.json');
const ADMIN_KEY = 'create-server-admin-key-0123456789';
const N = 250;

/** A site as a user's would be: a page, a script, the service worker. */
function makeSite(dir: string): string {
  const site = path.join(dir, 'site');
  fs.mkdirSync(site);
  fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>the app</title><script src="app.js"></script>');
  fs.writeFileSync(path.join(site, 'app.js'), 'console.log("app");');
  fs.writeFileSync(path.join(site, 'sw-ingest-sw.js'), 'self.addEventListener("sync", () => {});');
  return site;
}

/** The CLI, on the same options; resolves with its origin once it prints its listening line. */
async function startServe(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = startCli(['serve', '--port', '0', ...args], { SW_INGEST_ADMIN_KEY: ADMIN_KEY });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`sw-ingest serve exited with ${code}: ${stderr}`)));
  });
  return { child, url };
}

/** What a client sees of one answer, for comparing two servers. */
async function probe(url: string, request: { method?: string; path: string; headers?: Record<string, string> }) {
  const res = await fetch(`${url}${request.path}`, { method: request.method ?? 'GET', headers: request.headers ?? {} });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    // Not JSON: a file.
  }
  return {
    request: `${request.method ?? 'GET'} ${request.path}`,
    status: res.status,
    type: res.headers.get('content-type'),
    csp: res.headers.get('content-security-policy'),
    nosniff: res.headers.get('x-content-type-options'),
    cacheControl: res.headers.get('cache-control'),
    code,
  };
}

const PROBES = [
  { path: '/api/health' },
  { path: '/' },
  { path: '/app.js' },
  { path: '/sw-ingest-sw.js' },
  { path: '/.env' },
  { path: '/no-such-file' },
  { path: '/api/demo/summary' },
  { method: 'POST', path: '/api/ingest/batches' },
  { method: 'POST', path: '/api/ingest/auth/refresh' },
  { path: '/api/admin/collections/Reading/count' },
  { path: '/api/admin/collections/Reading/count', headers: { authorization: `Bearer ${ADMIN_KEY}` } },
  { path: '/api/admin/collections/Nope/count', headers: { authorization: `Bearer ${ADMIN_KEY}` } },
];

forEachSink('createIngestServer with a static site, an admin key and the demo', (sink) => {
  let dir: string;
  const databases: TestDatabase[] = [];
  let db: string;
  let app: FastifyInstance;
  let url: string;
  let closed = false;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-create-server-'));
    if (sink === 'postgres') databases.push(await createTestDatabase());
    db = databases[0]?.url ?? `sqlite:${path.join(dir, 'ingest.db')}`;
    app = await createIngestServer({
      schema: SCHEMA_FILE, db, dataDir: dir, adminKey: ADMIN_KEY, static: makeSite(dir), demo: true,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    if (!closed) await app.close();
    for (const d of databases) await d.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`serves health and the site, and its ingest, admin and demo routes agree on ${N} records stored once`, async () => {
    assert.deepEqual(await (await fetch(`${url}/api/health`)).json(), { ok: true });
    const page = await fetch(`${url}/`);
    assert.match(await page.text(), /<title>the app<\/title>/);
    assert.match(String(page.headers.get('content-security-policy')), /script-src 'self'/);
    assert.equal((await fetch(`${url}/sw-ingest-sw.js`)).headers.get('cache-control'), 'no-cache');

    const { accessToken } = await login(url);
    for (let i = 0; i < 2; i++) {
      const reply = await upload(url, accessToken, readingUpload(range(0, N)));
      assert.ok('status' in reply && reply.status === 200, JSON.stringify(reply).slice(0, 300));
      assert.deepEqual(new Set(reply.results!.map((r) => r.s)), new Set([i === 0 ? 'stored' : 'duplicate']));
    }

    const admin = { headers: { authorization: `Bearer ${ADMIN_KEY}` } };
    assert.deepEqual(await (await fetch(`${url}/api/admin/collections/Reading/count`, admin)).json(), { count: N });
    const lines = (await (await fetch(`${url}/api/admin/collections/Reading/export?format=canonical`, admin)).text()).trim().split('\n');
    const ids = lines.map((l) => (EJSON.parse(l) as { _id: { toHexString(): string } })._id.toHexString());
    assert.deepEqual(new Set(ids), new Set(range(0, N).map((s) => readingId(s).toHexString())));
    assert.equal(ids.length, N, 'each record exported once');
    const summary = await (await fetch(`${url}/api/demo/summary`)).json() as { collections: Record<string, number> };
    assert.deepEqual(summary.collections, { Reading: N });
    assert.equal(await countRows({ db }, 'Reading'), N, 'rows in the database, read directly');
  });

  it(`answers ${PROBES.length} probes exactly as sw-ingest serve on the same options`, async () => {
    const serveDir = path.join(dir, 'serve');
    fs.mkdirSync(serveDir);
    if (sink === 'postgres') databases.push(await createTestDatabase());
    const serveDb = databases[1]?.url ?? `sqlite:${path.join(serveDir, 'ingest.db')}`;
    const serve = await startServe(['--schema', SCHEMA_FILE, '--db', serveDb, '--data-dir', serveDir, '--static', path.join(dir, 'site'), '--demo']);
    try {
      // The same data on both, so that the admin count and the demo summary answer alike.
      const { accessToken } = await login(serve.url);
      await upload(serve.url, accessToken, readingUpload(range(0, N)));
      for (const p of PROBES) assert.deepEqual(await probe(url, p), await probe(serve.url, p));
    } finally {
      serve.child.kill('SIGTERM');
      const [code] = await once(serve.child, 'exit');
      assert.equal(code, 0, 'serve exits 0 on SIGTERM');
    }
  });

  it('closes its database with app.close(), after 1 close', async () => {
    assert.equal(await isDatabaseHeld(db, 0), true, 'held while the app runs');
    await app.close();
    closed = true;
    assert.equal(await isDatabaseHeld(db), false, 'released once the app is closed');
  });
});
