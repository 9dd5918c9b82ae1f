// A PostgreSQL stopped (a crash: `pg_ctl stop -m immediate`) while a
// server takes uploads, then started again: the server answers 503
// `database-unavailable` with `Retry-After`, never 500, loses nothing it
// confirmed, and stores every record once after the device re-sends.
// Runs the built CLI (`npm run build` first) on a cluster of the test's own,
// never the shared one of DATABASE_URL.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { primaryKeyString } from '../../core/schema.js';
import { login, range, readingId, readingUpload } from '../helpers/http-upload.js';
import { ownPostgresSkipReason, startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
import { withClient } from '../helpers/postgres.js';
import { ROOT, TestServer } from '../helpers/server.js';
import { assertDatabaseUnavailable, loggedUnavailableReasons, sendBatch, StatusTally, type Answer } from '../helpers/unavailable-answers.js';

const skip = ownPostgresSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL stopped and started again under a running server', { skip }, () => {
  let pg: OwnPostgres | undefined;
  let server: TestServer | undefined;
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    pg = await startOwnPostgres();
    server = await new TestServer({
      db: pg.url, staticDir: false,
      // The test sends far faster than a device; no limit may answer for the database.
      extraArgs: ['--rate-limit-ip', '0', '--rate-limit-user', '0', '--rate-limit-login', '0'],
    }).start();
  });
  after(async () => {
    await server?.dispose();
    await pg?.dispose();
  });

  it('answers 503 with Retry-After while the database is down or starting, never 500, and after re-sending stores each of 40000 readings once', async (t) => {
    const cluster = pg!;
    const srv = server!;
    const { accessToken } = await login(srv.url);
    const BATCHES = 80;
    const PER_BATCH = 500;
    const SENDERS = 4;
    const batches = range(0, BATCHES).map((b) => range(b * PER_BATCH, PER_BATCH));
    const bodies = batches.map((seqs) => readingUpload(seqs));
    const tally = new StatusTally();
    const firstAnswers: Answer[] = new Array(BATCHES);
    const storedAnswers = new Map<number, number>(); // seq → times answered `stored`
    const check = (answer: Answer, b: number, what: string): void => {
      if ('error' in answer || answer.status !== 200) {
        assertDatabaseUnavailable(answer, `${what} batch ${b}`);
        return;
      }
      assert.equal(answer.results!.length, PER_BATCH);
      answer.results!.forEach((r, i) => {
        assert.ok(r.s === 'stored' || r.s === 'duplicate', `${what} batch ${b}: ${JSON.stringify(r)}`);
        if (r.s === 'stored') storedAnswers.set(batches[b]![i]!, (storedAnswers.get(batches[b]![i]!) ?? 0) + 1);
      });
    };

    // Four senders share the batches, each sent once; the database is
    // stopped after the tenth confirmation, while inserts are in flight.
    let confirmed = 0;
    let unavailable = 0;
    let next = 0;
    let outage: Promise<void> | undefined;
    let loginWhileDown: Answer | undefined;
    const takeDown = async (): Promise<void> => {
      await cluster.stop('immediate');
      const res = await fetch(`${srv.url}/api/ingest/auth/anonymous`, { method: 'POST' });
      loginWhileDown = { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
      const since = unavailable;
      const until = Date.now() + 3000;
      while (unavailable < since + 3 && Date.now() < until) await sleep(20);
      await cluster.start(); // crash recovery first: "the database system is starting up" meanwhile
    };
    const senders = Promise.all(range(0, SENDERS).map(async () => {
      while (next < BATCHES) {
        const b = next++;
        const answer = tally.add(await sendBatch(srv.url, accessToken, bodies[b]!));
        firstAnswers[b] = answer;
        check(answer, b, 'first send');
        if ('status' in answer && answer.status === 200) {
          if (++confirmed === 10) outage = takeDown();
        } else {
          unavailable++;
          await sleep(50); // as a device would, though shorter than Retry-After: the test wants the outage seen
        }
      }
    }));
    // Even when an assertion fails, the cluster is started again before teardown removes it.
    await senders.finally(() => outage?.catch(() => {}));
    await outage;
    assert.ok(outage !== undefined, 'the database was stopped mid-stream');
    assertDatabaseUnavailable(loginWhileDown!, 'anonymous login while the database was down');

    // Nothing confirmed is missing after the crash, before anything is re-sent.
    const stored = await withClient(cluster.url, async (c) => new Set(
      (await c.query<{ id: string }>(`SELECT id FROM sw_ingest.records WHERE collection = 'Reading'`)).rows.map((r) => r.id),
    ));
    for (const [b, answer] of firstAnswers.entries()) {
      if ('status' in answer && answer.status === 200) {
        for (const seq of batches[b]!) assert.ok(stored.has(primaryKeyString(readingId(seq))), `confirmed reading ${seq} survived the crash`);
      }
    }

    // The device re-sends every batch not answered 200 until each is.
    const resent = new StatusTally();
    for (const [b, first] of firstAnswers.entries()) {
      if ('status' in first && first.status === 200) continue;
      for (let attempt = 1; ; attempt++) {
        const answer = resent.add(await sendBatch(srv.url, accessToken, bodies[b]!));
        check(answer, b, `re-send ${attempt} of`);
        if ('status' in answer && answer.status === 200) break;
        assert.ok(attempt < 100, `batch ${b} is still not stored after ${attempt} re-sends`);
        await sleep(200);
      }
    }
    t.diagnostic(`first sends: ${tally}; re-sends: ${resent}; 503s logged for: ${loggedUnavailableReasons(srv.stderr).join(' | ')}`);

    assert.ok(tally.of(200) >= 10 && tally.of(503) >= 1, `the outage was seen mid-stream: ${tally}`);
    assert.equal(tally.of(500) + resent.of(500), 0, 'no 500');
    assert.equal(tally.of('network-error') + resent.of('network-error'), 0, 'every request was answered');
    for (const [seq, n] of storedAnswers) assert.equal(n, 1, `reading ${seq} was answered stored ${n} times`);
    const rows = await withClient(cluster.url, async (c) => Number(
      (await c.query<{ n: string }>(`SELECT count(*) AS n FROM sw_ingest.records WHERE collection = 'Reading'`)).rows[0]!.n,
    ));
    assert.equal(rows, BATCHES * PER_BATCH, 'every distinct reading is stored, once');
    assert.ok(srv.pid > 0, 'the server is still running');
  });
});
