/**
 * The whole deployment of docs/deployment.md, for the HA tests: a Patroni
 * cluster (tests/helpers/patroni-cluster.ts) behind haproxy, two sw-ingest
 * servers (the built CLI) on it, a round-robin proxy in front of them as
 * the load balancer, and a Chromium page loaded through that proxy whose
 * service worker drains its outbox through both servers.
 *
 * Beside the browser a *prober* sends one tiny batch every
 * {@link PROBE_INTERVAL_MS} straight to the servers in turn (re-sending
 * each until it is answered 200), so an outage is timed to that resolution
 * rather than to the service worker's `Retry-After` waits. Its readings
 * carry the client id {@link PROBER_CLIENT} and seqs from
 * {@link PROBER_FIRST_SEQ}; the page's are seqs 0 … N-1.
 */
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from '@playwright/test';
import { BSON } from 'bson';
import { login, range, readingUpload } from './http-upload.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';
import { startPatroniCluster, type PatroniCluster, type PatroniClusterOptions } from './patroni-cluster.js';
import { withClient } from './postgres.js';
import { RoundRobinProxy } from './round-robin-proxy.js';
import { TestServer } from './server.js';
import { sendBatch, StatusTally, type Answer } from './unavailable-answers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const PROBER_CLIENT = 'ha-prober';
export const PROBER_FIRST_SEQ = 1_000_000;
export const PROBE_INTERVAL_MS = 100;

/** What one probe got, and when its answer came. */
export interface Probe {
  sentAt: number;
  at: number;
  answer: Answer;
}

/** The prober: one record per batch, every {@link PROBE_INTERVAL_MS}, until stopped. */
export class Prober {
  readonly probes: Probe[] = [];
  readonly tally = new StatusTally();
  private running = true;
  private loop: Promise<void> | undefined;
  stored = 0;

  constructor(private readonly servers: readonly TestServer[]) {}

  start(): this {
    this.loop = (async () => {
      const { accessToken } = await login(this.servers[0]!.url);
      for (let k = 0, turn = 0; this.running; k++) {
        const body = readingUpload([PROBER_FIRST_SEQ + k], PROBER_CLIENT);
        for (;;) {
          const sentAt = Date.now();
          const answer = this.tally.add(await sendBatch(this.servers[turn++ % this.servers.length]!.url, accessToken, body));
          this.probes.push({ sentAt, at: Date.now(), answer });
          await sleep(PROBE_INTERVAL_MS);
          if ('status' in answer && answer.status === 200) break;
          // A probe not stored is re-sent even after stop(): every probe ends stored.
        }
        this.stored++;
      }
    })();
    return this;
  }

  /** Stops after the probe in flight is stored; resolves with how many were. */
  async stop(): Promise<number> {
    this.running = false;
    await this.loop;
    return this.stored;
  }

  /** The first probe answered 200 that was sent after `t`. */
  firstStoredAfter(t: number): Probe | undefined {
    return this.probes.find((p) => p.sentAt >= t && 'status' in p.answer && p.answer.status === 200);
  }

  /** The slowest answer among the probes sent after `t`, in ms. */
  slowestAfter(t: number): number {
    return Math.max(0, ...this.probes.filter((p) => p.sentAt >= t).map((p) => p.at - p.sentAt));
  }
}

/** Everything of one HA test. */
export interface HaRig {
  cluster: PatroniCluster;
  servers: TestServer[];
  proxy: RoundRobinProxy;
  browser: Browser;
  page: Page;
  prober: Prober;
  dispose(): Promise<void>;
}

/**
 * The service worker's retry policy in these tests: it honours the
 * servers' `Retry-After: 2` between attempts, backs off no further than
 * 2 s, and a sync event keeps at it for 2 minutes.
 */
export const HA_RETRY = { baseMs: 250, maxMs: 2_000, syncBudgetMs: 120_000, requestTimeoutMs: 30_000 };

/**
 * Starts the cluster, two servers, the proxy and a page with an open client
 * (as `window.client`); the prober is made but not started.
 */
export async function startHaRig(options: PatroniClusterOptions = {}): Promise<HaRig> {
  const parts: { cluster?: PatroniCluster; servers: TestServer[]; proxy?: RoundRobinProxy; browser?: Browser } = { servers: [] };
  const dispose = async (): Promise<void> => {
    // Each step even if one before it failed: nothing may outlive the test.
    await parts.browser?.close().catch(() => {});
    await parts.proxy?.close().catch(() => {});
    await Promise.all(parts.servers.map((s) => s.dispose().catch(() => {})));
    await parts.cluster?.dispose();
  };
  try {
    parts.cluster = await startPatroniCluster(options);
    // Started at the same moment: the migration lock of the shared database sorts them out.
    parts.servers = [0, 1].map(() => new TestServer({
      db: parts.cluster!.url,
      // A browser and a prober far faster than real devices: no limit may answer for the database.
      extraArgs: ['--rate-limit-ip', '0', '--rate-limit-user', '0', '--rate-limit-login', '0'],
    }));
    await Promise.all(parts.servers.map((s) => s.start()));
    const servers = parts.servers;
    parts.proxy = await new RoundRobinProxy(() => servers.map((s) => s.port)).start();
    parts.browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    const page = await (await parts.browser.newContext()).newPage();
    await page.goto(`${parts.proxy.url}/`);
    await page.evaluate(async (retry) => {
      const w = window as any;
      w.client = await w.SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema, retry });
    }, HA_RETRY);
    return {
      cluster: parts.cluster, servers, proxy: parts.proxy, browser: parts.browser, page, prober: new Prober(servers), dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * Ingests readings `first` … `first+count-1` in the page, in writes of
 * 10,000, without waiting for the drain (the service worker starts
 * uploading after the first write).
 */
export async function ingestInPage(page: Page, count: number, first = 0): Promise<void> {
  const WRITE = 10_000;
  for (let from = first; from < first + count; from += WRITE) {
    await page.evaluate(([n, f]) => (window as any).ingestReadings((window as any).client, n, f), [Math.min(WRITE, first + count - from), from] as const);
  }
}

/** Resolves when the proxy has seen an upload answered with a stored record; returns its time. */
export async function firstStored(proxy: RoundRobinProxy, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const u = proxy.uploads.find((x) => x.stored > 0);
    if (u) return u.at;
    if (Date.now() > deadline) throw new Error(`nothing stored within ${timeoutMs} ms: ${proxy.tallyText()}`);
    await sleep(10);
  }
}

/**
 * Waits until the page's outbox is empty: `flush()` again after each
 * failed attempt (as a page would), for at most `timeoutMs`.
 */
export async function drainPage(page: Page, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await page.evaluate(() => (window as any).client.flush({ timeoutMs: 60_000 }).then(
      () => 'ok', (e: any) => `${e.code}: ${e.message}`,
    ));
    const pending = await page.evaluate(() => (window as any).client.pending());
    if (outcome === 'ok' && pending === 0) return;
    if (Date.now() > deadline) throw new Error(`the outbox still holds ${pending} records (last flush: ${outcome})`);
  }
}

/**
 * The checks every HA test ends with:
 * - the uploads were answered 200 or 503 `database-unavailable` with
 *   `Retry-After`, never 500, never unanswered (browser and prober);
 * - no record was answered `stored` twice (a confirmed record lost and
 *   stored again) and every page record was answered `stored` once;
 * - the database (the primary, through haproxy) holds readings 0 … count-1
 *   of the page each once, and every probe once.
 */
export async function assertEachStoredOnce(rig: HaRig, count: number, probes: number): Promise<void> {
  const { proxy, prober, cluster } = rig;
  for (const u of proxy.uploads) {
    assert.ok(u.status === 200 || u.status === 503, `an upload was answered ${u.status}: ${proxy.tallyText()}`);
    if (u.status === 503) {
      assert.equal(u.code, 'database-unavailable');
      assert.match(u.retryAfter ?? '', /^[1-5]$/, 'a 503 carries Retry-After');
    }
  }
  assert.equal(prober.tally.of(500) + prober.tally.of('network-error'), 0, `probes: ${prober.tally}`);
  for (const p of prober.probes) {
    const a = p.answer;
    if ('error' in a || a.status === 200) continue;
    assert.equal(a.status, 503, `a probe was answered ${a.status}: ${a.body.slice(0, 200)}`);
    assert.match(a.retryAfter ?? '', /^[1-5]$/);
  }
  for (const [id, n] of proxy.storedAnswers) assert.equal(n, 1, `record ${id} was answered stored ${n} times`);
  assert.equal(proxy.storedAnswers.size, count, 'every page record was answered stored');

  const rows = await withClient(cluster.url, async (c) => (await c.query<{ doc: Buffer; client_id: string }>(
    'SELECT doc, client_id FROM sw_ingest.records WHERE collection = $1', ['Reading'],
  )).rows);
  const pageSeqs = new Set<number>();
  let pageRows = 0;
  let probeRows = 0;
  for (const r of rows) {
    if (r.client_id === PROBER_CLIENT) {
      probeRows++;
      continue;
    }
    pageRows++;
    pageSeqs.add(Number(BSON.deserialize(r.doc).seq));
  }
  assert.equal(pageRows, count, 'page readings stored');
  assert.equal(pageSeqs.size, count, 'distinct page readings stored');
  assert.deepEqual(range(0, count).filter((s) => !pageSeqs.has(s)), [], 'no page reading missing');
  assert.equal(probeRows, probes, 'probes stored');
}
