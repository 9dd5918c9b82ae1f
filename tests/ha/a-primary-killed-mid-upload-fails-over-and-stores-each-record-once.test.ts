// kill -9 of the primary's postmaster while a browser drains 100,000
// readings through two servers: Patroni promotes the synchronous standby,
// haproxy sends the servers' new connections to it, the servers answer 503
// database-unavailable with Retry-After meanwhile (never 500), and every
// reading is stored exactly once. Reports the failover time: from the kill
// to the first batch stored after it.
// Runs the built CLI and page files (`npm run build` first).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertEachStoredOnce, drainPage, firstStored, ingestInPage, startHaRig, type HaRig } from '../helpers/ha-rig.js';
import { patroniSkipReason } from '../helpers/patroni-cluster.js';
import { ROOT } from '../helpers/server.js';
import { loggedUnavailableReasons } from '../helpers/unavailable-answers.js';

const skip = patroniSkipReason();
const READINGS = Number(process.env.SW_INGEST_HA_READINGS || 100_000);

describe('the primary killed mid-upload', { skip }, () => {
  let rig: HaRig | undefined;
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    rig = await startHaRig();
  });
  after(async () => {
    await rig?.dispose();
  });

  it(`fails over to the synchronous standby, answers 503 with Retry-After meanwhile and never 500, and stores each of ${READINGS} readings once`, async (t) => {
    const { cluster, proxy, page, prober, servers } = rig!;
    const { primary: old, syncStandby } = await cluster.waitForSync();
    prober.start();
    const started = Date.now();
    const ingested = ingestInPage(page, READINGS);
    await firstStored(proxy);
    const killedAt = Date.now();
    cluster.killPostmaster(old);
    await ingested;
    await drainPage(page);
    const drainedAt = Date.now();
    const probes = await prober.stop();

    const newPrimary = await cluster.primary();
    const firstProbe = prober.firstStoredAfter(killedAt);
    const firstUpload = proxy.uploads.find((u) => u.at > killedAt && u.stored > 0);
    const tally = proxy.tallyText();
    const storedBeforeKill = proxy.uploads.filter((u) => u.at <= killedAt).reduce((n, u) => n + u.stored, 0);
    t.diagnostic(`killed ${old.name} after ${storedBeforeKill} readings stored; promoted ${newPrimary?.name} (sync standby was ${syncStandby})`);
    t.diagnostic(`failover: first probe stored ${firstProbe ? firstProbe.at - killedAt : '-'} ms after the kill, first browser batch ${firstUpload ? firstUpload.at - killedAt : '-'} ms after`);
    t.diagnostic(`browser uploads by status: ${tally}; probes by status: ${prober.tally}; slowest probe answer after the kill ${prober.slowestAfter(killedAt)} ms; drain of ${READINGS} took ${drainedAt - started} ms`);
    t.diagnostic(`503s logged for: ${[...new Set(servers.flatMap((s) => loggedUnavailableReasons(s.stderr)))].join(' | ')}`);

    assert.equal(newPrimary?.name, syncStandby, 'the synchronous standby was promoted');
    assert.ok(proxy.tally()['503']! >= 1 || prober.tally.of(503) >= 1, `the failover was seen as 503s: ${tally}; ${prober.tally}`);
    assert.ok(firstProbe && firstUpload, 'writes went on after the failover');
    assert.ok(firstProbe.at - killedAt < 30_000, 'failover within 30 s');
    await assertEachStoredOnce(rig!, READINGS, probes);
    for (const s of servers) assert.ok(s.pid > 0, 'both servers still run');
  });
});
