// ingestPlugin inside a team's own fastify app, imported as users import
// it (the package name: `npm run build` first). Over a real socket, on both
// sinks, with the schema as a file and as an array: a login and an upload
// store every record once; the host's own routes, JSON parser, onRequest
// hook, error handler and not-found answers are what they were; inside
// the plugin's prefix every error is the sw-ingest catalogue's; closing
// the host app closes the plugin's database.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { ingestPlugin, type ObjectSchema } from 'sw-ingest-server';
import { isDatabaseHeld } from '../helpers/database-handles.js';
import { login, range, readingUpload, upload } from '../helpers/http-upload.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { countRows, forEachSink } from '../helpers/server-inject.js';

const SCHEMA_FILE = path.resolve(import.meta.dirname, '../fixtures/schema.json');
const SCHEMA = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as ObjectSchema[];
const ADMIN_KEY = 'host-app-admin-key-0123456789';
const N = 300;

/** A host app of its own: routes, a JSON parser, an onRequest hook and an error handler, none of them sw-ingest's. */
function hostApp(): { app: FastifyInstance; hookCalls: string[] } {
  const app = Fastify();
  const hookCalls: string[] = [];
  app.addHook('onRequest', async (request, reply) => {
    hookCalls.push(request.url);
    reply.header('x-host-hook', 'ran');
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, { parsedByTheHost: JSON.parse(body as string) });
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setErrorHandler((err: Error, _request, reply) => reply.code(418).send({ hostError: err.message }));
  app.get('/hello', async () => 'hello from the host');
  app.post('/echo', async (request) => request.body);
  app.get('/boom', async () => {
    throw new Error('the host failed');
  });
  return { app, hookCalls };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

forEachSink('ingestPlugin in a host fastify app', (sink) => {
  for (const form of ['a file path', 'an array'] as const) {
    describe(`with the schema as ${form}`, () => {
      let dir: string;
      let database: TestDatabase | undefined;
      let db: string;
      let host: ReturnType<typeof hostApp>;
      let url: string;
      let closed = false;

      before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-plugin-'));
        if (sink === 'postgres') database = await createTestDatabase();
        db = database?.url ?? `sqlite:${path.join(dir, 'ingest.db')}`;
        host = hostApp();
        await host.app.register(ingestPlugin, {
          prefix: '/api/ingest',
          schema: form === 'a file path' ? SCHEMA_FILE : SCHEMA,
          db, dataDir: dir, adminKey: ADMIN_KEY, admin: true,
        });
        url = await listen(host.app);
      });
      after(async () => {
        if (!closed) await host.app.close();
        await database?.drop();
        fs.rmSync(dir, { recursive: true, force: true });
      });

      it(`stores ${N} records once, sent twice over a real login`, async () => {
        const { accessToken } = await login(url);
        const first = await upload(url, accessToken, readingUpload(range(0, N)));
        assert.ok('status' in first && first.status === 200, JSON.stringify(first).slice(0, 300));
        assert.deepEqual(new Set(first.results!.map((r) => r.s)), new Set(['stored']));
        const again = await upload(url, accessToken, readingUpload(range(0, N)));
        assert.ok('status' in again && again.status === 200);
        assert.deepEqual(new Set(again.results!.map((r) => r.s)), new Set(['duplicate']));
        assert.equal(again.results!.length, N);

        assert.equal(await countRows({ db }, 'Reading'), N, 'rows in the database, read directly');
        const count = await fetch(`${url}/api/ingest/admin/collections/Reading/count`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        assert.deepEqual(await count.json(), { count: N }, 'the admin routes under the prefix agree');
      });

      it("leaves the host's routes, parser, hook and error handler as they were: 4 of 4", async () => {
        const hello = await fetch(`${url}/hello`);
        assert.equal(await hello.text(), 'hello from the host');
        assert.equal(hello.headers.get('x-host-hook'), 'ran', "the host's onRequest hook runs for its routes");
        assert.ok(host.hookCalls.includes('/hello'));

        const echo = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
        assert.deepEqual(await echo.json(), { parsedByTheHost: { a: 1 } }, "the host's JSON parser, not the plugin's");

        const boom = await fetch(`${url}/boom`);
        assert.equal(boom.status, 418);
        assert.deepEqual(await boom.json(), { hostError: 'the host failed' }, "the host's error handler");

        const missing = await fetch(`${url}/no-such-host-route`);
        assert.equal(missing.status, 404);
        const body = await missing.json() as Record<string, unknown>;
        assert.equal(body.error, 'Not Found', "fastify's own 404 for the host's URLs");
        assert.equal(typeof body.message, 'string');
      });

      it('answers inside its prefix in the catalogue shape, with its own parser: 3 of 3', async () => {
        const missing = await fetch(`${url}/api/ingest/no-such-route`);
        assert.equal(missing.status, 404);
        assert.deepEqual(await missing.json(), { error: { code: 'not-found', message: 'No route GET /api/ingest/no-such-route.' } });

        // The auth routes accept an empty JSON body (their own parser); the host's would throw on it.
        const empty = await fetch(`${url}/api/ingest/auth/anonymous`, { method: 'POST', headers: { 'content-type': 'application/json' } });
        assert.equal(empty.status, 200, await empty.clone().text());

        // A parser error inside the prefix goes to the plugin's error handler, not the host's 418.
        const bad = await fetch(`${url}/api/ingest/auth/anonymous`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
        assert.equal(bad.status, 400);
        const { error } = await bad.json() as { error: { code: string; message: string } };
        assert.equal(error.code, 'bad-request');
      });

      it('closes its database with the host app, after 1 close', async () => {
        assert.equal(await isDatabaseHeld(db, 0), true, 'held while the app runs');
        await host.app.close();
        closed = true;
        assert.equal(await isDatabaseHeld(db), false, 'released once the app is closed');
      });
    });
  }
});

describe('ingestPlugin refuses what is not its business', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-plugin-refusals-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const base = { schema: SCHEMA, db: `sqlite:${path.join(dir, 'ingest.db')}`, dataDir: dir };

  it('without a prefix, and for each of the 6 server-level options, naming it', async () => {
    const app = Fastify();
    app.register(ingestPlugin, base);
    await assert.rejects(async () => app.ready(), /register it under a prefix/);
    await app.close().catch(() => {});
    for (const [key, value] of Object.entries({ static: dir, demo: true, csp: false, trustProxy: true, requestTimeout: 1000, logger: true })) {
      const other = Fastify();
      other.register(ingestPlugin, { ...base, prefix: '/api/ingest', [key]: value } as never);
      await assert.rejects(async () => other.ready(), new RegExp(`"${key}" is not a plugin option`));
      await other.close().catch(() => {});
    }
    assert.equal(fs.existsSync(path.join(dir, 'ingest.db')), false, 'no database was opened for a refused option');
  });
});
