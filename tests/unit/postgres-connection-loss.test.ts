// A server whose PostgreSQL connections are cut (a failover, a restarted
// database, an idle timeout in a proxy) keeps running and serves the next
// upload on new connections. Runs the built CLI (`npm run build` first).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresUrlOrSkip, POSTGRES_SKIP_REASON, withClient } from '../helpers/postgres.js';
import { ROOT, TestServer } from '../helpers/server.js';
import { login, range, readingUpload, upload } from '../helpers/http-upload.js';

const skip = postgresUrlOrSkip() === undefined ? POSTGRES_SKIP_REASON : false;

describe('PostgreSQL connections cut under a running server', { skip }, () => {
  let server: TestServer;
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    server = await new TestServer({ sink: 'postgres', staticDir: false }).start();
  });
  after(() => server?.dispose());

  it('survives its idle connections being terminated and stores the next upload', async () => {
    const { accessToken } = await login(server.url);
    const first = await upload(server.url, accessToken, readingUpload(range(0, 100)));
    assert.ok('results' in first, JSON.stringify(first));

    const terminated = await withClient(server.db, async (c) => (await c.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'sw-ingest' AND pid <> pg_backend_pid()`,
    )).rowCount);
    assert.ok((terminated ?? 0) >= 1, 'the server had connections to cut');
    await new Promise((r) => setTimeout(r, 300));

    const second = await upload(server.url, accessToken, readingUpload(range(100, 100)));
    assert.ok('results' in second && second.results!.every((r) => r.s === 'stored'), JSON.stringify(second).slice(0, 300));
    assert.equal(await server.count('Reading'), 200);
    assert.match(server.stderr, /idle database connection failed/); // logged, not fatal
  });
});
