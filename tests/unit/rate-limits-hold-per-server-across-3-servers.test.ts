// Rate limits are kept per server, in memory (documented in docs/deployment.md
// with the reason): measured with three real servers on one PostgreSQL
// database, one client address gets each server's login limit from each of
// them, so three servers allow three times the configured rate — and not a
// login more. Runs the built CLI (`npm run build` first).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, postgresUrlOrSkip, POSTGRES_SKIP_REASON, type TestDatabase } from '../helpers/postgres.js';
import { ROOT, TestServer } from '../helpers/server.js';

const skip = postgresUrlOrSkip() === undefined ? POSTGRES_SKIP_REASON : false;
const LOGINS_PER_MINUTE = 5;

describe('rate limits with three servers on one database', { skip }, () => {
  let database: TestDatabase;
  let servers: TestServer[];
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    database = await createTestDatabase();
    servers = await Promise.all([0, 1, 2].map(() => new TestServer({
      db: database.url, staticDir: false, extraArgs: ['--rate-limit-login', String(LOGINS_PER_MINUTE)],
    }).start()));
  });
  after(async () => {
    await Promise.all((servers ?? []).map((s) => s.dispose()));
    await database?.drop();
  });

  it(`admit ${LOGINS_PER_MINUTE} logins a minute per server from one address: 15 of 24 across 3 servers, then 429 with Retry-After on each`, async () => {
    const admitted: number[] = [];
    for (const server of servers) {
      let ok = 0;
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${server.url}/api/ingest/auth/anonymous`, { method: 'POST' });
        if (res.status === 200) ok++;
        else {
          assert.equal(res.status, 429);
          assert.ok(Number(res.headers.get('retry-after')) > 0, 'a 429 says when to come back');
          assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'rate-limited');
        }
      }
      admitted.push(ok);
    }
    assert.deepEqual(admitted, [LOGINS_PER_MINUTE, LOGINS_PER_MINUTE, LOGINS_PER_MINUTE]);
  });
});
