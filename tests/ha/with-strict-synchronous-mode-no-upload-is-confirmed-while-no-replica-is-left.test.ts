// Patroni's `synchronous_mode_strict: true`, both replicas lost (killed, as
// machines die) while two servers take uploads: no upload is answered 200
// until a replica is back, because a commit waits for a synchronous standby.
// What the servers answer meanwhile: the uploads that hold one of a
// server's pooled connections wait (their commit waits in PostgreSQL; the
// statement limit does not cover the commit), and the others are answered
// 503 database-unavailable with Retry-After once they have waited 5 s for
// a connection. Never 500. Once a replica is back the waiting commits
// complete, and after re-sending, each reading is stored once.
// Runs the built CLI (`npm run build` first), uploading over HTTP.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { login, range, readingUpload } from '../helpers/http-upload.js';
import { patroniSkipReason, startPatroniCluster, type PatroniCluster } from '../helpers/patroni-cluster.js';
import { withClient } from '../helpers/postgres.js';
import { ROOT, TestServer } from '../helpers/server.js';
import { assertDatabaseUnavailable, sendBatch, StatusTally, type Answer } from '../helpers/unavailable-answers.js';

const skip = patroniSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OUTAGE_MS = 15_000;

describe('strict synchronous mode with no replica left', { skip }, () => {
  let cluster: PatroniCluster | undefined;
  let servers: TestServer[] = [];
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    cluster = await startPatroniCluster({ synchronousModeStrict: true });
    servers = [0, 1].map(() => new TestServer({ db: cluster!.url, staticDir: false, extraArgs: ['--rate-limit-ip', '0', '--rate-limit-user', '0'] }));
    await Promise.all(servers.map((s) => s.start()));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.dispose().catch(() => {})));
    await cluster?.dispose();
  });

  it('confirms no upload until a replica is back, makes the others wait or answers 503 with Retry-After, never 500, and stores each of 6000 readings once', async (t) => {
    const c = cluster!;
    const { primary, syncStandby } = await c.waitForSync();
    const { accessToken } = await login(servers[0]!.url);
    const PER_BATCH = 200;
    const BATCHES = 30;
    const bodies = range(0, BATCHES).map((b) => readingUpload(range(b * PER_BATCH, PER_BATCH)));
    const tally = new StatusTally();
    const answers: { b: number; sentAt: number; at: number; answer: Answer }[] = [];
    const send = async (b: number): Promise<Answer> => {
      const sentAt = Date.now();
      const answer = tally.add(await sendBatch(servers[b % 2]!.url, accessToken, bodies[b]!));
      answers.push({ b, sentAt, at: Date.now(), answer });
      if (!('status' in answer && answer.status === 200)) assertDatabaseUnavailable(answer, `batch ${b}`);
      return answer;
    };
    for (const b of range(0, 5)) assert.equal((await send(b) as { status: number }).status, 200);

    await Promise.all(c.nodes.filter((n) => n !== primary).map((n) => c.killNode(n)));
    const lostAt = Date.now();
    // The other 25 batches at once, more than the servers' pools (10 each) hold.
    const inFlight = range(5, BATCHES - 5).map((b) => send(b));
    await sleep(OUTAGE_MS);
    const backAt = Date.now();
    c.startNode(c.node(syncStandby));
    await Promise.all(inFlight);
    const { primary: after } = await c.waitForSync(90_000, 1);
    const confirmedWithoutReplica = answers.filter((a) => a.sentAt >= lostAt && a.at < backAt && 'status' in a.answer && a.answer.status === 200);
    const waited = answers.filter((a) => a.sentAt >= lostAt && a.at >= backAt).map((a) => a.at - a.sentAt);
    const unavailable = answers.filter((a) => a.sentAt >= lostAt && 'status' in a.answer && a.answer.status === 503).map((a) => a.at - a.sentAt);
    const during = new StatusTally();
    for (const a of answers) if (a.sentAt >= lostAt) during.add(a.answer);
    t.diagnostic(`uploads sent while no replica was left (${OUTAGE_MS} ms): ${during}; ${waited.length} uploads waited until a replica was back (${Math.min(...waited)}–${Math.max(...waited)} ms), ${unavailable.length} answered 503 after ${Math.min(...unavailable)}–${Math.max(...unavailable)} ms`);

    assert.equal(confirmedWithoutReplica.length, 0, 'nothing confirmed while no replica was left');
    assert.equal(after.name, primary.name, 'the primary stayed');
    assert.ok(unavailable.length >= 1 && waited.length >= 1, `both kinds of answers were seen: ${tally}`);
    assert.equal(tally.of(500) + tally.of('network-error'), 0, 'never 500, always answered');

    // The device re-sends what was not confirmed.
    const resent = new StatusTally();
    for (const b of range(5, BATCHES - 5)) {
      const first = answers.find((a) => a.b === b)!.answer;
      if ('status' in first && first.status === 200) continue;
      for (let attempt = 1; ; attempt++) {
        const answer = resent.add(await sendBatch(servers[b % 2]!.url, accessToken, bodies[b]!));
        if ('status' in answer && answer.status === 200) break;
        assertDatabaseUnavailable(answer, `re-send ${attempt} of batch ${b}`);
        assert.ok(attempt < 50, `batch ${b} not stored after ${attempt} re-sends`);
        await sleep(500);
      }
    }
    const rows = await withClient(c.url, async (client) => Number(
      (await client.query<{ n: string }>(`SELECT count(*) AS n FROM sw_ingest.records WHERE collection = 'Reading'`)).rows[0]!.n,
    ));
    assert.equal(rows, BATCHES * PER_BATCH, 'every reading stored, once');
    t.diagnostic(`re-sends: ${resent}`);
  });
});
