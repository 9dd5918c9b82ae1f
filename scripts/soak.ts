/**
 * The soak: random faults from the fault matrix against a live server while
 * several pages ingest, then a count. Loopback only, bounded in time.
 *
 *   npm run build                      # the soak runs the built files; it builds nothing itself
 *   npm run soak -- --minutes 5        # options: --minutes (2), --pages (3), --seed (random), --quiet
 *
 * The real server (`TestServer`, SQLite; `SW_INGEST_TEST_SINK=postgres` with
 * `DATABASE_URL` for PostgreSQL) runs behind the fault proxy of
 * tests/helpers/proxy.ts; Chromium runs with a persistent profile in a temp
 * dir; every page ingests continuously at random rates, each with its own
 * `deviceId` and unique `seq`s (allocated by this script, so a reloaded page
 * never reuses one), and reports every `ingest()` that resolved back to Node
 * (`exposeFunction`). Meanwhile faults are applied one after another at
 * random intervals: connection cuts mid-request and mid-response, lost
 * responses, answers delayed past the client's timeout, 5xx, 429/503 with
 * Retry-After, malformed and partial replies, cuts of every open connection,
 * server restarts (SIGTERM and SIGKILL), context offline/online, the service
 * worker stopped via CDP, page reloads.
 *
 * At the end faults stop, the pages stop ingesting, the outbox is flushed
 * until empty (bounded), and the export is compared with what resolved.
 * Diagnostics go to stderr; stdout gets exactly one line:
 *
 *   soak: ingested=N stored=N duplicates=0 lost=0 minutes=M faults=K
 *
 * ingested: records whose ingest() resolved; stored: the server's count;
 * duplicates: rows beyond the distinct (deviceId, seq) pairs of the export;
 * lost: resolved records missing from the export. Exit code 1 if lost or
 * duplicates is not 0, or the outbox could not be emptied; 3 if the
 * watchdog fired.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BrowserContext, Page } from '@playwright/test';
import { launchPersistent } from '../tests/helpers/chromium.js';
import { FaultProxy, type UploadRule } from '../tests/helpers/proxy.js';
import { ROOT, TestServer } from '../tests/helpers/server.js';
import { mulberry32 } from '../tests/helpers/random.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    pages: { type: 'string', default: '3' },
    seed: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const PAGES = Number(args.pages);
const SEED = args.seed !== undefined ? Number(args.seed) : Math.floor(Math.random() * 2 ** 31);
if (!(MINUTES > 0) || !(PAGES >= 1) || !Number.isInteger(PAGES) || !Number.isFinite(SEED)) {
  console.error('usage: npm run soak -- [--minutes 2] [--pages 3] [--seed N] [--quiet]');
  process.exit(2);
}
for (const f of ['dist/sw-ingest-sw.js', 'dist/sw-ingest.iife.js']) {
  if (!existsSync(join(ROOT, f))) {
    console.error(`soak: ${f} is missing; run \`npm run build\` first`);
    process.exit(2);
  }
}

/** The client's retry settings: quick enough to recover within a fault interval; a delay fault exceeds requestTimeoutMs. */
const RETRY = { baseMs: 250, maxMs: 4_000, syncBudgetMs: 60_000, requestTimeoutMs: 3_000 };
const BATCH_MAX_RECORDS = 200;
/** Bounds of the end: flushing until the outbox is empty, and the whole run. */
const FLUSH_BUDGET_MS = 180_000;
const WATCHDOG_MS = MINUTES * 60_000 + FLUSH_BUDGET_MS + 120_000;

// ─── randomness (seeded, so a run's fault schedule can be replayed) ─────────

const random = mulberry32(SEED);
const between = (lo: number, hi: number): number => Math.floor(lo + random() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => {
  if (!args.quiet) console.error(`[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
};

// ─── bookkeeping of what the pages ingested ─────────────────────────────────

const startedAt = Date.now();
const nextSeq = new Map<string, number>();
const resolved = new Map<string, Set<number>>();
const ingestErrors = new Map<string, number>();
let ingested = 0;

function allocate(deviceId: string, count: number): number {
  const from = nextSeq.get(deviceId) ?? 0;
  nextSeq.set(deviceId, from + count);
  return from;
}

function onResolved(deviceId: string, from: number, count: number): void {
  let seqs = resolved.get(deviceId);
  if (!seqs) resolved.set(deviceId, (seqs = new Set()));
  for (let s = from; s < from + count; s++) {
    if (!seqs.has(s)) ingested++;
    seqs.add(s);
  }
}

function onFailed(code: string): void {
  ingestErrors.set(code, (ingestErrors.get(code) ?? 0) + 1);
}

// ─── the pages ──────────────────────────────────────────────────────────────

/** Loads the test page through the proxy, opens a client and starts the page's ingest loop. */
async function startPage(page: Page, deviceId: string, origin: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(`${origin}/`);
      break;
    } catch (e) {
      if (attempt >= 20) throw e;
      await sleep(500); // a fault of the moment (a cut connection): load again
    }
  }
  await page.evaluate(async ({ deviceId, retry, batchMaxRecords }) => {
    const w = window as any;
    w.client = await w.SwIngest.open({
      endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema, retry, batchMaxRecords,
    });
    w.soakStop = false;
    // Ingests continuously at a random rate: a few records at a time, not awaiting each (one transaction per burst).
    w.soakLoopDone = (async () => {
      while (!w.soakStop) {
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 380));
        const count = 1 + Math.floor(Math.random() * 20);
        const from: number = await w.soakAllocate(deviceId, count);
        try {
          await w.ingestReadings(w.client, count, from, deviceId);
          await w.soakResolved(deviceId, from, count);
        } catch (e: any) {
          await w.soakFailed(String(e?.code ?? e?.name ?? e));
        }
      }
    })();
  }, { deviceId, retry: RETRY, batchMaxRecords: BATCH_MAX_RECORDS });
}

// ─── the faults ─────────────────────────────────────────────────────────────

interface Env {
  server: TestServer;
  proxy: FaultProxy;
  context: BrowserContext;
  pages: Page[];
  deviceIds: string[];
}

type Fault = { name: string; weight: number; run: (env: Env) => Promise<string> };

/** Queues an upload rule, unless rules are piling up (no uploads for a while): then the fault is skipped. */
function queueRule(env: Env, rule: UploadRule): string {
  if (env.proxy.rulesLeft >= 3) return 'skipped: rules pending';
  env.proxy.nextUploads([rule]);
  return '';
}

type Reply = { v: number; results: unknown[] };

const FAULTS: Fault[] = [
  { name: 'cut-request', weight: 3, run: async (env) => {
    const at = random(); // somewhere in the body, whatever the batch's size
    return queueRule(env, { cutRequestAfterBytes: (head, body) => head + Math.max(1, body * at) }) || `at ${(at * 100).toFixed(0)}% of the body`;
  } },
  { name: 'cut-response', weight: 2, run: async (env) => {
    const at = random(); // anywhere in the head or the body
    return queueRule(env, { cutResponseAfterBytes: (head, body) => Math.max(1, (head + body) * at) }) || `at ${(at * 100).toFixed(0)}% of the response`;
  } },
  { name: 'lost-response', weight: 3, run: async (env) => queueRule(env, { cutResponseAfterBytes: 0 }) || 'after the commit' },
  { name: 'slow-response', weight: 2, run: async (env) => {
    const ms = RETRY.requestTimeoutMs + between(500, 2_500);
    return queueRule(env, { delayResponseMs: ms }) || `${ms} ms (timeout ${RETRY.requestTimeoutMs} ms)`;
  } },
  { name: '5xx', weight: 3, run: async (env) => {
    const status = pick([500, 502, 503]);
    return queueRule(env, { respond: { status } }) || String(status);
  } },
  { name: 'retry-after', weight: 2, run: async (env) => {
    const status = pick([429, 503]);
    const seconds = between(1, 3);
    return queueRule(env, { respond: { status, headers: { 'Retry-After': String(seconds) } } }) || `${status}, Retry-After: ${seconds}`;
  } },
  { name: 'malformed-reply', weight: 3, run: async (env) => {
    const kind = pick(['garbage', 'fewer-results', 'bad-entries'] as const);
    const rewriteReply = (reply: unknown): unknown => {
      const r = reply as Reply | undefined;
      if (kind === 'garbage' || !r || !Array.isArray(r.results)) return '<html>502 Bad Gateway</html>';
      if (kind === 'fewer-results') return { ...r, results: r.results.slice(0, -1) };
      return { ...r, results: r.results.map((v) => (Math.random() < 0.2 ? { s: 'maybe' } : v)) };
    };
    return queueRule(env, { rewriteReply }) || kind;
  } },
  { name: 'cut-all-connections', weight: 2, run: async (env) => `${env.proxy.cutAll()} connections` },
  { name: 'server-restart-sigterm', weight: 2, run: (env) => restart(env, 'SIGTERM') },
  { name: 'server-restart-sigkill', weight: 2, run: (env) => restart(env, 'SIGKILL') },
  { name: 'offline', weight: 2, run: async (env) => {
    const ms = between(1_000, 6_000);
    await env.context.setOffline(true);
    await sleep(ms);
    await env.context.setOffline(false);
    return `${ms} ms`;
  } },
  { name: 'stop-service-worker', weight: 2, run: async (env) => {
    const cdp = await env.context.newCDPSession(env.pages[0]!);
    try {
      await cdp.send('ServiceWorker.enable');
      await cdp.send('ServiceWorker.stopAllWorkers');
    } finally {
      await cdp.detach().catch(() => undefined);
    }
    return 'ServiceWorker.stopAllWorkers';
  } },
  { name: 'page-reload', weight: 2, run: async (env) => {
    const i = between(0, env.pages.length - 1);
    await startPage(env.pages[i]!, env.deviceIds[i]!, env.proxy.url); // navigating away kills the running loop and its in-flight ingest
    return env.deviceIds[i]!;
  } },
];

async function restart(env: Env, signal: NodeJS.Signals): Promise<string> {
  const down = between(300, 3_000);
  await env.server.stop(signal);
  await sleep(down);
  for (let attempt = 1; ; attempt++) {
    try {
      await env.server.start();
      break;
    } catch (e) {
      if (attempt >= 60) throw e;
      await sleep(1_000); // the port may still be held for a moment, or dist/ is being rebuilt
    }
  }
  return `down ${down} ms`;
}

function pickFault(): Fault {
  const total = FAULTS.reduce((s, f) => s + f.weight, 0);
  let x = random() * total;
  for (const f of FAULTS) if ((x -= f.weight) < 0) return f;
  return FAULTS[FAULTS.length - 1]!;
}

// ─── the run ────────────────────────────────────────────────────────────────

async function pendingOf(page: Page): Promise<number> {
  return page.evaluate(() => (window as any).client.pending() as Promise<number>);
}

async function main(): Promise<number> {
  log(`seed ${SEED}, ${MINUTES} min, ${PAGES} pages`);
  const server = await new TestServer().start();
  const proxy = await new FaultProxy(() => server.port).start();
  const profile = mkdtempSync(join(tmpdir(), 'sw-ingest-soak-profile-'));
  let context: BrowserContext | undefined;
  const watchdog = setTimeout(() => {
    console.error(`soak: watchdog: not done after ${WATCHDOG_MS / 1000} s; giving up`);
    void server.stop('SIGKILL').finally(() => process.exit(3));
    setTimeout(() => process.exit(3), 5_000).unref();
  }, WATCHDOG_MS);
  try {
    context = await launchPersistent(profile);
    await context.exposeFunction('soakAllocate', allocate);
    await context.exposeFunction('soakResolved', onResolved);
    await context.exposeFunction('soakFailed', onFailed);
    const pages = [context.pages()[0] ?? (await context.newPage())];
    while (pages.length < PAGES) pages.push(await context.newPage());
    const deviceIds = pages.map((_, i) => `soak-page-${i}`);
    for (const [i, page] of pages.entries()) await startPage(page, deviceIds[i]!, proxy.url);
    const env: Env = { server, proxy, context, pages, deviceIds };

    // Faults, one after another, until time is up.
    const faultCounts = new Map<string, number>();
    const endAt = startedAt + MINUTES * 60_000;
    let faults = 0;
    let nextReport = Date.now() + 30_000;
    while (Date.now() < endAt) {
      await sleep(Math.min(between(500, 4_000), Math.max(0, endAt - Date.now())));
      if (Date.now() >= endAt) break;
      const fault = pickFault();
      const what = await fault.run(env);
      if (what.startsWith('skipped')) {
        log(`${fault.name}: ${what}`);
      } else {
        faults++;
        faultCounts.set(fault.name, (faultCounts.get(fault.name) ?? 0) + 1);
        log(`fault #${faults} ${fault.name}: ${what}`);
      }
      if (Date.now() >= nextReport) {
        nextReport += 30_000;
        const p = await pendingOf(pages[0]!).catch(() => NaN);
        log(`progress: ingested=${ingested} stored=${await server.count('Reading').catch(() => NaN)} pending=${p} uploads=${proxy.uploads} faults=${faults}`);
      }
    }

    // The end: no more faults, no more ingest, then flush until the outbox is empty.
    proxy.clearRules();
    await context.setOffline(false);
    log('stopping the pages');
    for (const page of pages) {
      await page.evaluate(() => {
        const w = window as any;
        w.soakStop = true;
        return w.soakLoopDone;
      });
    }
    log(`flushing: pending=${await pendingOf(pages[0]!)}`);
    const flushDeadline = Date.now() + FLUSH_BUDGET_MS;
    let left = -1;
    while (Date.now() < flushDeadline) {
      const outcome = await pages[0]!.evaluate(() => (window as any).client.flush({ timeoutMs: 30_000 }).then(() => 'ok', (e: any) => `${e.code}: ${e.message}`));
      left = 0;
      for (const page of pages) left += await pendingOf(page); // one outbox per origin: each page sees the same count
      if (outcome === 'ok' && left === 0) break;
      log(`flush: ${outcome}; pending ${left}`);
      await sleep(1_000);
    }
    const deadLetters = await pages[0]!.evaluate(async () => ((await (window as any).client.rejected()) as unknown[]).length);

    // The count.
    const stored = await server.count('Reading');
    const docs = await server.exportDocs('Reading');
    const seen = new Map<string, Set<number>>();
    let rows = 0;
    for (const d of docs) {
      rows++;
      let seqs = seen.get(String(d.deviceId));
      if (!seqs) seen.set(String(d.deviceId), (seqs = new Set()));
      seqs.add(Number(d.seq));
    }
    const distinct = [...seen.values()].reduce((s, x) => s + x.size, 0);
    const duplicates = rows - distinct;
    let lost = 0;
    for (const [deviceId, seqs] of resolved) {
      const got = seen.get(deviceId);
      for (const s of seqs) if (!got?.has(s)) lost++;
    }
    const unreported = distinct - (ingested - lost); // stored records whose ingest() was cut off (reload) before it reported

    const byOutcome = new Map<string, number>();
    for (const e of proxy.uploadLog) byOutcome.set(e.outcome, (byOutcome.get(e.outcome) ?? 0) + 1);
    const dedupedRecords = proxy.uploadLog.reduce((sum, e) => sum + (e.verdicts?.duplicate ?? 0), 0);
    const fmt = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ');
    console.error(`soak: seed=${SEED} pages=${PAGES} uploads=${proxy.uploads} final-pending=${left} dead-letters=${deadLetters} stored-but-unreported=${unreported} re-sent-records-answered-duplicate=${dedupedRecords}`);
    console.error(`soak: faults: ${fmt(faultCounts)}`);
    console.error(`soak: uploads by outcome at the proxy: ${fmt(byOutcome)}`);
    if (ingestErrors.size > 0) console.error(`soak: ingest() rejections (not counted as ingested): ${fmt(ingestErrors)}`);
    if (left !== 0) console.error(`soak: the outbox still held ${left} records after ${FLUSH_BUDGET_MS / 1000} s of flushing`);
    console.log(`soak: ingested=${ingested} stored=${stored} duplicates=${duplicates} lost=${lost} minutes=${MINUTES} faults=${faults}`);
    return lost > 0 || duplicates > 0 || left !== 0 || deadLetters > 0 ? 1 : 0;
  } finally {
    clearTimeout(watchdog);
    await context?.close().catch(() => undefined);
    await proxy.close().catch(() => undefined);
    await server.dispose().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error('soak: failed:', e);
    process.exit(2);
  },
);
