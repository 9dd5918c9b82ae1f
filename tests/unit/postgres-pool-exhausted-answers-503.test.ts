// A server whose few PostgreSQL connections are all stuck (here: inserts
// waiting behind a table lock another client holds) answers the requests
// that find no free connection 503 `database-unavailable` with
// `Retry-After` once its connection wait runs out, not 500; and the stuck
// inserts themselves are cancelled by PostgreSQL's statement_timeout (503)
// rather than holding the pool forever. A cancelled statement committed
// nothing, even after the lock is gone (a client-side timeout would have let
// it commit later), so after re-sending every record is stored once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import type { RecordResult } from '../../core/protocol.js';
import { parseSchema } from '../../core/schema.js';
import { buildApp } from '../../server/app.js';
import { openStore, parseDbLocation } from '../../server/open-store.js';
import type { Store } from '../../server/store.js';
import { createTestDatabase, postgresUrlOrSkip, POSTGRES_SKIP_REASON, type TestDatabase } from '../helpers/postgres.js';
import { countRows, encodeTestUpload, loginAnonymously, postBatch, readRows, TEST_SCHEMA } from '../helpers/server-inject.js';
import { assertDatabaseUnavailable, type Answer } from '../helpers/unavailable-answers.js';

const skip = postgresUrlOrSkip() === undefined ? POSTGRES_SKIP_REASON : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const POOL_MAX = 2;
const CONNECTION_TIMEOUT_MS = 500;
const STATEMENT_TIMEOUT_MS = 5000;
const PER_BATCH = 100;

/** Batch `b`: readings with ids derived from `b`, so a re-send is the same records. */
function batch(b: number): Buffer {
  return encodeTestUpload(Array.from({ length: PER_BATCH }, (_, i) => ({
    c: 'Reading', doc: { _id: ObjectId.createFromHexString((b * PER_BATCH + i).toString(16).padStart(24, '0')), sensor: `s${b}`, value: new Double(i / 2) },
  })));
}

/** An inject answer in the shape {@link assertDatabaseUnavailable} checks. */
function answer(res: LightMyRequestResponse): Answer {
  const retryAfter = res.headers['retry-after'];
  return { status: res.statusCode, retryAfter: retryAfter === undefined ? null : String(retryAfter), body: res.body };
}

/** Asserts a 200 whose every record is `stored`. */
function assertAllStored(res: LightMyRequestResponse, what: string): void {
  assert.equal(res.statusCode, 200, `${what}: ${res.body.slice(0, 300)}`);
  const { results } = res.json() as { results: RecordResult[] };
  assert.equal(results.length, PER_BATCH);
  assert.ok(results.every((r) => r.s === 'stored'), `${what}: every record stored, none duplicate: ${res.body.slice(0, 300)}`);
}

describe(`a PostgreSQL pool of ${POOL_MAX} connections held by inserts stuck behind a table lock`, { skip }, () => {
  let database: TestDatabase;
  let store: Store;
  let app: ReturnType<typeof buildApp>;
  let locker: pg.Client;
  let observer: pg.Client;
  before(async () => {
    database = await createTestDatabase();
    store = await openStore(parseDbLocation(database.url), {
      poolMax: POOL_MAX, connectionTimeoutMs: CONNECTION_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS,
    });
    app = buildApp({
      store, schema: parseSchema(TEST_SCHEMA), rateLimits: false,
      adminKey: randomBytes(16).toString('hex'), jwtSecret: randomBytes(32).toString('hex'),
    });
    await app.ready();
    locker = new pg.Client({ connectionString: database.url });
    observer = new pg.Client({ connectionString: database.url });
    await locker.connect();
    await observer.connect();
  });
  after(async () => {
    await locker?.end().catch(() => {});
    await observer?.end().catch(() => {});
    await app?.close();
    await store?.close();
    await database?.drop();
  });

  /** Takes the lock every insert into `records` waits for, in a transaction left open. */
  async function lockRecords(): Promise<void> {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE sw_ingest.records IN ACCESS EXCLUSIVE MODE');
  }

  /** Ends the locking transaction; nothing happens when there is none (a ROLLBACK outside one only warns). */
  async function unlockRecords(): Promise<void> {
    await locker.query('ROLLBACK');
  }

  /** Waits until `n` of the server's connections wait for a lock: its whole pool is stuck. */
  async function waitForStuckConnections(n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows: [row] } = await observer.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'sw-ingest' AND wait_event_type = 'Lock'`,
      );
      if (Number(row!.n) === n) return;
      assert.ok(Date.now() < deadline, `${n} server connections waiting for the lock (now ${row!.n})`);
      await sleep(20);
    }
  }

  it('answers 503 with Retry-After to uploads and logins that find no free connection, then stores each of 500 records once', async () => {
    const { accessToken } = await loginAnonymously(app);
    await lockRecords();
    const stuck = [postBatch(app, accessToken, batch(0)), postBatch(app, accessToken, batch(1))];
    try {
      await waitForStuckConnections(POOL_MAX);

      const started = Date.now();
      const [waiting, login] = await Promise.all([
        Promise.all([2, 3, 4].map((b) => postBatch(app, accessToken, batch(b)))),
        app.inject({ method: 'POST', url: '/api/ingest/auth/anonymous' }),
      ]);
      const waited = Date.now() - started;
      for (const [k, res] of waiting.entries()) assertDatabaseUnavailable(answer(res), `upload ${k + 2} with the pool stuck`);
      assertDatabaseUnavailable(answer(login), 'anonymous login with the pool stuck');
      assert.ok(waited < STATEMENT_TIMEOUT_MS, `answered after the connection wait (${waited} ms), not the statement timeout`);
    } finally {
      await unlockRecords(); // the stuck inserts go through now
    }
    for (const [b, res] of (await Promise.all(stuck)).entries()) assertAllStored(res, `stuck upload ${b}, once the lock is gone`);
    for (const b of [2, 3, 4]) assertAllStored(await postBatch(app, accessToken, batch(b)), `re-sent upload ${b}`);
    assert.equal(await countRows({ db: database.url }, 'Reading'), 5 * PER_BATCH);
  });

  it('cancels inserts stuck past the statement timeout (503), commits nothing of them even after the lock is gone, then stores each of 300 more records once', async () => {
    const { accessToken } = await loginAnonymously(app);
    const before = await countRows({ db: database.url }, 'Reading');
    await lockRecords();
    try {
      const started = Date.now();
      const stuck = [postBatch(app, accessToken, batch(10)), postBatch(app, accessToken, batch(11))];
      await waitForStuckConnections(POOL_MAX);
      const waiting = await postBatch(app, accessToken, batch(12));
      assertDatabaseUnavailable(answer(waiting), 'upload 12 with the pool stuck');

      const cancelled = await Promise.all(stuck);
      const took = Date.now() - started;
      for (const [k, res] of cancelled.entries()) assertDatabaseUnavailable(answer(res), `stuck upload ${k + 10}`);
      assert.ok(took >= STATEMENT_TIMEOUT_MS - 100, `cancelled by the statement timeout, after ${took} ms`);
    } finally {
      await unlockRecords();
    }
    await sleep(300); // a statement that still ran would commit now
    assert.equal(await countRows({ db: database.url }, 'Reading'), before, 'nothing of the cancelled or refused uploads was committed');
    for (const b of [10, 11, 12]) assertAllStored(await postBatch(app, accessToken, batch(b)), `re-sent upload ${b}`);

    const rows = await readRows({ db: database.url });
    assert.equal(rows.length, before + 3 * PER_BATCH);
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'no record stored twice');
  });
});
