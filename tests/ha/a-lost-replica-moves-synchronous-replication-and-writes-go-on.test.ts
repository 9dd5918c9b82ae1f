// Replicas lost under a browser draining 100,000 readings through two
// servers, with Patroni's synchronous_mode (not strict):
// 1. the synchronous standby lost (its Patroni and PostgreSQL killed, as a
//    machine dies): commits wait until Patroni names the other replica
//    synchronous, then go on; nothing is answered 500, each reading is
//    stored once;
// 2. the last replica lost too: Patroni turns synchronous replication off
//    (synchronous_standby_names = '') and writes go on, unreplicated —
//    what non-strict synchronous mode promises, documented in
//    docs/deployment.md. (`synchronous_mode_strict: true` would stop them.)
// Reports each stall: from the kill to the first probe stored after it.
// Runs the built CLI and page files (`npm run build` first).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertEachStoredOnce, drainPage, firstStored, ingestInPage, startHaRig, type HaRig } from '../helpers/ha-rig.js';
import { patroniSkipReason } from '../helpers/patroni-cluster.js';
import { withClient } from '../helpers/postgres.js';
import { ROOT, waitFor } from '../helpers/server.js';

const skip = patroniSkipReason();
const READINGS = Number(process.env.SW_INGEST_HA_READINGS || 100_000);
const LATER = 10_000;

describe('replicas lost under synchronous replication', { skip }, () => {
  let rig: HaRig | undefined;
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    rig = await startHaRig();
  });
  after(async () => {
    await rig?.dispose();
  });

  it(`goes on writing when the synchronous standby and then the last replica are lost, never answers 500, and stores each of ${READINGS + LATER} readings once`, async (t) => {
    const { cluster, proxy, page, prober, servers } = rig!;
    const { primary, syncStandby } = await cluster.waitForSync();
    const other = cluster.nodes.find((n) => n !== primary && n.name !== syncStandby)!;
    const replication = () => withClient(primary.url, async (c) => (await c.query<{ application_name: string; sync_state: string }>(
      'SELECT application_name, sync_state FROM pg_stat_replication ORDER BY application_name',
    )).rows);
    const standbyNames = () => withClient(primary.url, async (c) => (await c.query<{ s: string }>(
      `SELECT current_setting('synchronous_standby_names') AS s`,
    )).rows[0]!.s);

    // 1. The synchronous standby lost mid-drain.
    prober.start();
    const ingested = ingestInPage(page, READINGS);
    await firstStored(proxy);
    const syncLostAt = Date.now();
    await cluster.killNode(cluster.node(syncStandby));
    await waitFor(async () => (await replication()).some((r) => r.application_name === other.name && r.sync_state === 'sync'), 30_000,
      `${other.name} to become the synchronous standby`);
    const movedAt = Date.now();
    await ingested;
    await drainPage(page);
    const firstAfterSyncLost = prober.firstStoredAfter(syncLostAt);
    t.diagnostic(`${syncStandby} (synchronous standby) killed: ${other.name} synchronous after ${movedAt - syncLostAt} ms; first probe stored ${firstAfterSyncLost ? firstAfterSyncLost.at - syncLostAt : '-'} ms after the kill; slowest probe answer ${prober.slowestAfter(syncLostAt)} ms`);
    const phase1 = proxy.tallyText();
    const probes1 = prober.tally.toString();

    // 2. The last replica lost: non-strict synchronous mode drops to asynchronous.
    const lastLostAt = Date.now();
    await cluster.killNode(other);
    await waitFor(async () => (await standbyNames()) === '', 30_000, 'Patroni to turn synchronous replication off');
    const offAt = Date.now();
    await ingestInPage(page, LATER, READINGS);
    await drainPage(page);
    const probes = await prober.stop();
    const firstAfterLastLost = prober.firstStoredAfter(lastLostAt);
    t.diagnostic(`${other.name} (last replica) killed: synchronous_standby_names '' after ${offAt - lastLostAt} ms; first probe stored ${firstAfterLastLost ? firstAfterLastLost.at - lastLostAt : '-'} ms after the kill; slowest probe answer ${prober.slowestAfter(lastLostAt)} ms`);
    t.diagnostic(`browser uploads by status: phase 1 ${phase1}, in all ${proxy.tallyText()}; probes by status: phase 1 ${probes1}, in all ${prober.tally}`);

    assert.equal((await cluster.primary())?.name, primary.name, 'the primary stayed');
    assert.ok(firstAfterSyncLost && firstAfterLastLost, 'writes went on');
    await assertEachStoredOnce(rig!, READINGS + LATER, probes);
    for (const s of servers) assert.ok(s.pid > 0, 'both servers still run');
  });
});
