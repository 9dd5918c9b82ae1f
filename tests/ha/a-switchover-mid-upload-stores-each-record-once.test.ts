// A planned switchover (Patroni's REST `POST /switchover`, what
// `patronictl switchover --force` sends) while a browser drains 100,000
// readings through two servers: the primary is shut down and the
// synchronous standby promoted; the servers answer 503
// database-unavailable with Retry-After meanwhile (never 500) and every
// reading is stored exactly once. Reports the switchover time: from the
// request to the first batch stored after it.
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

describe('a switchover mid-upload', { skip }, () => {
  let rig: HaRig | undefined;
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    rig = await startHaRig();
  });
  after(async () => {
    await rig?.dispose();
  });

  it(`moves the primary to the synchronous standby, answers 503 with Retry-After meanwhile and never 500, and stores each of ${READINGS} readings once`, async (t) => {
    const { cluster, proxy, page, prober, servers } = rig!;
    const { primary: old, syncStandby } = await cluster.waitForSync();
    prober.start();
    const started = Date.now();
    const ingested = ingestInPage(page, READINGS);
    await firstStored(proxy);
    const switchedAt = Date.now();
    await cluster.switchover(old.name, syncStandby);
    const answeredAt = Date.now();
    await ingested;
    await drainPage(page);
    const drainedAt = Date.now();
    const probes = await prober.stop();

    const newPrimary = await cluster.primary();
    const firstProbe = prober.firstStoredAfter(answeredAt);
    const firstUpload = proxy.uploads.find((u) => u.at > answeredAt && u.stored > 0);
    const tally = proxy.tallyText();
    t.diagnostic(`switchover ${old.name} → ${syncStandby}: Patroni answered after ${answeredAt - switchedAt} ms; primary now ${newPrimary?.name}`);
    t.diagnostic(`switchover: first probe stored ${firstProbe ? firstProbe.at - switchedAt : '-'} ms after the request, first browser batch ${firstUpload ? firstUpload.at - switchedAt : '-'} ms after`);
    t.diagnostic(`browser uploads by status: ${tally}; probes by status: ${prober.tally}; slowest probe answer after the request ${prober.slowestAfter(switchedAt)} ms; drain of ${READINGS} took ${drainedAt - started} ms`);
    t.diagnostic(`503s logged for: ${[...new Set(servers.flatMap((s) => loggedUnavailableReasons(s.stderr)))].join(' | ')}`);

    assert.equal(newPrimary?.name, syncStandby, 'the synchronous standby is the primary');
    assert.ok(firstProbe && firstUpload, 'writes went on after the switchover');
    assert.ok(firstProbe.at - switchedAt < 30_000, 'switchover within 30 s');
    await assertEachStoredOnce(rig!, READINGS, probes);
    for (const s of servers) assert.ok(s.pid > 0, 'both servers still run');
  });
});
