// Three real server processes (the built CLI; `npm run build` first) on one
// PostgreSQL database, each with its own data directory as on separate
// machines behind a load balancer: they share the token secret through the
// database, uploads spread across them, the same batch sent to two of them
// at the same moment is stored once, and the export holds every record once.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecordResult } from '../../core/protocol.js';
import { PG_MIGRATIONS } from '../../server/postgres-store.js';
import { createTestDatabase, postgresUrlOrSkip, POSTGRES_SKIP_REASON, withClient, type TestDatabase } from '../helpers/postgres.js';
import { ROOT, TestServer } from '../helpers/server.js';
import { login, range, readingId, readingUpload, upload } from '../helpers/http-upload.js';

const skip = postgresUrlOrSkip() === undefined ? POSTGRES_SKIP_REASON : false;

describe('several servers on one PostgreSQL database', { skip }, () => {
  let database: TestDatabase;
  let servers: TestServer[];
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    database = await createTestDatabase();
    // Started at the same moment on an empty database: the migrations must not collide.
    servers = await Promise.all(range(0, 3).map(() => new TestServer({ db: database.url, staticDir: false }).start()));
  });
  after(async () => {
    await Promise.all((servers ?? []).map((s) => s.dispose()));
    await database?.drop();
  });

  it('applied the layout once although all three started at once', async () => {
    const versions = await withClient(database.url, async (c) => (await c.query('SELECT version FROM sw_ingest.schema_migrations ORDER BY version')).rows);
    assert.deepEqual(versions, PG_MIGRATIONS.map((m) => ({ version: m.version })));
  });

  it('accepts on every server the tokens any of them issued', async () => {
    const session = await login(servers[0]!.url);
    for (const server of servers) {
      const res = await upload(server.url, session.accessToken, readingUpload([]));
      assert.ok('status' in res && res.status === 200, `${server.url}: ${JSON.stringify(res)}`);
    }
    const refreshed = await fetch(`${servers[2]!.url}/api/ingest/auth/refresh`, {
      method: 'POST', headers: { authorization: `Bearer ${session.refreshToken}` },
    });
    assert.equal(refreshed.status, 200);
  });

  it('stores every record exactly once: uploads spread across servers, the same batch to two servers at once', async () => {
    const session = await login(servers[1]!.url);
    const SPREAD_BATCHES = 30;
    const PER_BATCH = 200;
    // Spread: batch i goes to server i mod 3, all at once.
    const spread = await Promise.all(range(0, SPREAD_BATCHES).map((b) =>
      upload(servers[b % 3]!.url, session.accessToken, readingUpload(range(b * PER_BATCH, PER_BATCH), `device-${b}`))));
    for (const [b, res] of spread.entries()) {
      assert.ok('results' in res && res.results!.every((r) => r.s === 'stored'), `batch ${b}: ${JSON.stringify(res).slice(0, 300)}`);
    }

    // The same batch to two servers at the same moment (a retry racing the
    // original, through different servers), five times over.
    const RACES = 5;
    const RACE_BATCH = 500;
    let first = SPREAD_BATCHES * PER_BATCH;
    for (let race = 0; race < RACES; race++, first += RACE_BATCH) {
      const body = readingUpload(range(first, RACE_BATCH), `racer-${race}`);
      const [a, b] = [servers[race % 3]!, servers[(race + 1) % 3]!];
      const [ra, rb] = await Promise.all([upload(a.url, session.accessToken, body), upload(b.url, session.accessToken, body)]);
      assert.ok('results' in ra && 'results' in rb, `race ${race}: ${JSON.stringify([ra, rb]).slice(0, 300)}`);
      const resultsA = ra.results as RecordResult[];
      const resultsB = rb.results as RecordResult[];
      for (let i = 0; i < RACE_BATCH; i++) {
        const pair = [resultsA[i]!.s, resultsB[i]!.s].sort();
        assert.deepEqual(pair, ['duplicate', 'stored'], `race ${race}, record ${i}: one server stored it, the other answered duplicate`);
      }
    }

    const total = SPREAD_BATCHES * PER_BATCH + RACES * RACE_BATCH;
    for (const server of servers) assert.equal(await server.count('Reading'), total, server.url);
    const docs = await servers[2]!.exportDocs('Reading');
    assert.equal(docs.length, total);
    const ids = docs.map((d) => (d._id as { toHexString(): string }).toHexString());
    assert.equal(new Set(ids).size, total, 'every primary key once');
    assert.deepEqual(ids, range(0, total).map((s) => readingId(s).toHexString()), 'exactly the records sent, in key order');
  });
});
