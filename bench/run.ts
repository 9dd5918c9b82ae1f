/**
 * `npm run bench`: sw-ingest against its peers, every figure measured in
 * this one run, medians of several repetitions, each in a fresh on-disk
 * Chromium profile, against the real server (the built CLI) on loopback.
 * Prints a table and writes bench/results/<time>.json.
 *
 *   npm run bench -- [--reps 3] [--quick] [--only ingest,main,upload,wire,memory,latency]
 *                    [--baseline <commit>[=<label>] ...] [--label <text>]
 *
 * The sw-ingest under test is built from the working tree's lib/ and sw/
 * (the settings of scripts/build.js, into a temporary directory: dist/ is
 * left alone). Each `--baseline <commit>` adds the same sw-ingest
 * measurements for that commit's lib/ and sw/, served under /baseline-N/,
 * so before and after are compared within one run. PostgreSQL figures are added when
 * `DATABASE_URL` names a server where the role may create databases (as for
 * the tests: tests/helpers/postgres.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { Page } from '@playwright/test';
import { CHROMIUM_PATH } from '../tests/helpers/chromium.js';
import { DATABASE_URL } from '../tests/helpers/postgres.js';
import { swHeapSampler, withFreshBrowser } from './lib/browser.js';
import { BenchServer, snapshotServer } from './lib/server.js';
import { buildBodies, postBodies, sqliteInsertMs } from './lib/server-direct.js';
import { buildCommit, buildSite, buildSwIngest, ROOT, type Variant } from './lib/site.js';
import { fmt, median, quantile } from './lib/stats.js';
import type { Bench } from './site/page.js';

const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string' },
    quick: { type: 'boolean' },
    only: { type: 'string' },
    baseline: { type: 'string', multiple: true },
    label: { type: 'string' },
  },
});
const QUICK = opts.quick === true;
const REPS = Number(opts.reps ?? (QUICK ? 1 : 3));
const SIZES = QUICK
  ? { ingest: 2_000, awaited: 1_000, upload: 10_000, backlog: 20_000, replay: 200, latencyS: 5 }
  : { ingest: 20_000, awaited: 5_000, upload: 100_000, backlog: 200_000, replay: 1_000, latencyS: 15 };
/** sw-ingest's default `batchMaxRecords` (lib/client.ts). */
const DEFAULT_BATCH = 2_000;
const SECTIONS = new Set((opts.only ?? 'ingest,main,upload,wire,memory,latency').split(','));

const variants: Variant[] = [];

/** One measured figure: the value of each repetition. */
interface Row {
  section: string;
  name: string;
  unit: string;
  values: number[];
  note?: string;
}
const rows: Row[] = [];
const checks: { target: string; value: string; ok: boolean }[] = [];

function record(section: string, name: string, unit: string, value: number, note?: string): void {
  let row = rows.find((r) => r.section === section && r.name === name);
  if (!row) rows.push((row = { section, name, unit, values: [], ...(note ? { note } : {}) }));
  row.values.push(value);
}
const med = (section: string, name: string): number => median(rows.find((r) => r.section === section && r.name === name)?.values ?? []);
function check(target: string, value: number, ok: boolean, unit = ''): void {
  checks.push({ target, value: `${fmt(value)}${unit}`, ok });
}
const log = (s: string): void => console.error(s);

type BenchFn = { [K in keyof Bench]: Bench[K] };
/** Calls `bench.<fn>(...args)` in the page. */
function call<K extends keyof BenchFn>(page: Page, fn: K, ...args: Parameters<BenchFn[K]>): Promise<Awaited<ReturnType<BenchFn[K]>>> {
  return page.evaluate(([f, a]) => (globalThis as any).bench[f](...a), [fn, args] as const) as Promise<Awaited<ReturnType<BenchFn[K]>>>;
}

/** Starts a server on its own new database, serving the bench site. */
async function server(site: string, sink: 'sqlite' | 'postgres' = 'sqlite'): Promise<BenchServer> {
  return new BenchServer(site, sink).start();
}

const rate = (n: number, ms: number): number => n / (ms / 1000);

// ── 1. ingest throughput ────────────────────────────────────────────────

async function ingestSection(site: string): Promise<void> {
  const srv = await server(site);
  const N = SIZES.ingest;
  const A = SIZES.awaited;
  type Contender = { name: string; n: number; run: (page: Page) => Promise<number> };
  const contenders: Contender[] = [];
  for (const v of variants) {
    const at = `${srv.url}/${v.path}`;
    const sw = (fn: 'swIngestLoop' | 'swIngestAwaited', durability: string) => async (page: Page) => {
      await page.goto(at);
      await call(page, 'openClient', { durability }, true);
      return (await call(page, fn, fn === 'swIngestLoop' ? N : A)).ms;
    };
    contenders.push(
      { name: `sw-ingest ${v.label}: ingest() loop, strict`, n: N, run: sw('swIngestLoop', 'strict') },
      { name: `sw-ingest ${v.label}: await ingest() each, strict`, n: A, run: sw('swIngestAwaited', 'strict') },
    );
    if (v.path === '') {
      contenders.push(
        { name: `sw-ingest ${v.label}: ingest() loop, relaxed`, n: N, run: sw('swIngestLoop', 'relaxed') },
        { name: `sw-ingest ${v.label}: await ingest() each, relaxed`, n: A, run: sw('swIngestAwaited', 'relaxed') },
      );
    }
  }
  const raw = (fn: 'rawOneTx' | 'rawTxPerRecord' | 'rawTxPerRecordCommit' | 'dexieBulkAdd', n: number, d: 'strict' | 'relaxed') => async (page: Page) => {
    await page.goto(`${srv.url}/`);
    return (await call(page, fn, n, d)).ms;
  };
  contenders.push(
    { name: 'raw IndexedDB: one transaction, strict', n: N, run: raw('rawOneTx', N, 'strict') },
    { name: 'raw IndexedDB: one transaction, relaxed', n: N, run: raw('rawOneTx', N, 'relaxed') },
    { name: 'raw IndexedDB: transaction per record, strict', n: A, run: raw('rawTxPerRecord', A, 'strict') },
    { name: 'raw IndexedDB: transaction per record, relaxed', n: A, run: raw('rawTxPerRecord', A, 'relaxed') },
    { name: 'raw IndexedDB: transaction per record with explicit commit(), strict', n: A, run: raw('rawTxPerRecordCommit', A, 'strict') },
    {
      name: 'OPFS file through a worker, write + flush per record, awaited (not IndexedDB)', n: A,
      run: async (page) => {
        await page.goto(`${srv.url}/`);
        return (await call(page, 'opfsJournalAwaited', A)).ms;
      },
    },
    { name: 'Dexie bulkAdd, strict', n: N, run: raw('dexieBulkAdd', N, 'strict') },
    {
      name: 'workbox Queue.pushRequest each (relaxed: no setting)', n: Math.min(A, 5_000),
      run: async (page) => {
        await page.goto(`${srv.url}/`);
        return (await call(page, 'workbox', { op: 'push', n: Math.min(A, 5_000) })).ms;
      },
    },
  );
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const c of contenders) {
        const ms = await withFreshBrowser((page) => c.run(page));
        record('1 ingest', c.name, 'records/s', rate(c.n, ms));
        log(`  [ingest ${rep + 1}/${REPS}] ${c.name}: ${fmt(rate(c.n, ms))} records/s`);
      }
    }
  } finally {
    await srv.dispose();
  }
  const loop = med('1 ingest', 'sw-ingest now: ingest() loop, strict');
  const one = med('1 ingest', 'raw IndexedDB: one transaction, strict');
  const each = med('1 ingest', 'sw-ingest now: await ingest() each, strict');
  const perTx = med('1 ingest', 'raw IndexedDB: transaction per record, strict');
  check('ingest() loop ≥ 0.9× raw one transaction (strict)', loop / one, loop / one >= 0.9, '×');
  check('await ingest() each ≥ 1.5× raw transaction per record (strict)', each / perTx, each / perTx >= 1.5, '×');
}

// ── 2. main-thread cost ─────────────────────────────────────────────────

async function mainThreadSection(site: string): Promise<void> {
  const srv = await server(site);
  const N = SIZES.ingest;
  const perCall: number[] = [];
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const v of variants) {
        await withFreshBrowser(async (page) => {
          await page.goto(`${srv.url}/${v.path}`);
          await call(page, 'openClient', {}, true);
          const { perCallUs } = await call(page, 'ingestSyncCost', N, 1000);
          if (v.path === '') perCall.push(...perCallUs);
          record('2 main thread', `sw-ingest ${v.label}: ingest() synchronous part per call`, 'µs', median(perCallUs), 'median of 1,000-call chunks');
        });
        // Uploads running: the SW drains while the page queues.
        await withFreshBrowser(async (page) => {
          await page.goto(`${srv.url}/${v.path}`);
          await call(page, 'openClient', {}, false);
          await call(page, 'watchLongTasks');
          await call(page, 'ingestInTasks', N, 500);
          await page.waitForTimeout(500);
          const tasks = await call(page, 'takeLongTasks');
          record('2 main thread', `sw-ingest ${v.label}: long tasks > 50 ms, ${fmt(N)} queued in tasks of 500`, 'count', tasks.length);
          record('2 main thread', `sw-ingest ${v.label}: longest task, ${fmt(N)} queued in tasks of 500`, 'ms', Math.max(0, ...tasks));
          await call(page, 'watchLongTasks');
          const { syncMs } = await call(page, 'swIngestLoop', N);
          await page.waitForTimeout(500);
          const one = await call(page, 'takeLongTasks');
          record('2 main thread', `sw-ingest ${v.label}: longest task, ${fmt(N)} ingest() calls in one task`, 'ms', Math.max(0, ...one),
            'includes the caller\'s own loop');
          record('2 main thread', `sw-ingest ${v.label}: the caller's loop of ${fmt(N)} calls itself`, 'ms', syncMs);
        });
        log(`  [main ${rep + 1}/${REPS}] ${v.label} done`);
      }
    }
  } finally {
    await srv.dispose();
  }
  const us = med('2 main thread', 'sw-ingest now: ingest() synchronous part per call');
  check('ingest() synchronous part ≤ 5 µs (median)', us, us <= 5, ' µs');
  const lt = med('2 main thread', `sw-ingest now: long tasks > 50 ms, ${fmt(N)} queued in tasks of 500`);
  check(`no long task > 50 ms while ${fmt(N)} are queued`, lt, lt === 0, ' tasks');
}

// ── 3. upload throughput ────────────────────────────────────────────────

/** Queues `n` records with uploads paused, then resumes and times the drain. */
async function timedDrain(site: string, v: Variant, n: number, sink: 'sqlite' | 'postgres', options: Record<string, unknown>, heap = false) {
  const srv = await server(site, sink);
  try {
    return await withFreshBrowser(async (page, context) => {
      await page.goto(`${srv.url}/${v.path}`);
      await call(page, 'openClient', options, true);
      const filled = await call(page, 'fill', n, 10_000);
      if (filled.pending !== n) throw new Error(`queued ${filled.pending} of ${n}`);
      const sampler = heap ? await swHeapSampler(context, page) : undefined;
      const heapBefore = await sampler?.usedAfterGc();
      sampler?.start(50);
      const drained = await call(page, 'drainTimed', 600_000);
      const samples = (await sampler?.stop()) ?? [];
      // What stays after the drain: a retained batch would show here, a late collection would not.
      const heapAfter = await sampler?.usedAfterGc();
      await sampler?.detach();
      const stored = await srv.count('Reading');
      if (stored !== n) throw new Error(`the server holds ${stored} of ${n} records`);
      return { ...drained, heapBefore: heapBefore ?? 0, heapAfter: heapAfter ?? 0, heapPeak: Math.max(0, ...samples), fillMs: filled.ms };
    });
  } finally {
    await srv.dispose();
  }
}

async function uploadSection(site: string): Promise<void> {
  const N = SIZES.upload;
  const sinks: ('sqlite' | 'postgres')[] = DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
  const bodies = new Map([500, DEFAULT_BATCH].map((b) => [b, buildBodies(N, b)]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const sink of sinks) {
      for (const v of sink === 'sqlite' ? variants : variants.slice(0, 1)) {
        for (const batch of v.path === '' && sink === 'sqlite' ? [100, 500, DEFAULT_BATCH, 5000] : [DEFAULT_BATCH]) {
          const n = batch === 100 ? N / 5 : N; // the slow small-batch figure is a rate: fewer records do
          const r = await timedDrain(site, v, n, sink, { batchMaxRecords: batch });
          const name = `sw-ingest ${v.label} → ${sink}, BSON, ${batch}-record batches${batch === DEFAULT_BATCH ? ' (default)' : ''}${n === N ? '' : ` (${fmt(n)} records)`}`;
          record('3 upload', name, 'records/s', rate(n, r.ms));
          log(`  [upload ${rep + 1}/${REPS}] ${name}: ${fmt(rate(n, r.ms))} records/s${r.errors.length ? ` (errors: ${r.errors.slice(0, 2).join('; ')})` : ''}`);
        }
      }
      // The limit: the same bodies POSTed by Node, no browser.
      for (const [size, sized] of bodies) {
        for (const concurrency of [1, 2]) {
          const srv = await server(site, sink);
          try {
            const ms = await postBodies(srv.url, sized, concurrency);
            const name = `server fed directly over HTTP → ${sink}, ${size}-record BSON bodies, ${concurrency} in flight`;
            record('3 upload', name, 'records/s', rate(N, ms));
            log(`  [upload ${rep + 1}/${REPS}] ${name}: ${fmt(rate(N, ms))} records/s`);
          } finally {
            await srv.dispose();
          }
        }
      }
    }
    const ms = await sqliteInsertMs(N, 500);
    record('3 upload', 'SqliteStore.insertBatch in-process, 500 rows per transaction', 'records/s', rate(N, ms), 'the database alone');
    // workbox: one request per record, replayed.
    const srv = await server(site);
    try {
      const R = SIZES.replay;
      const replay = await withFreshBrowser(async (page) => {
        await page.goto(`${srv.url}/`);
        await call(page, 'workbox', { op: 'push', n: R });
        return call(page, 'workbox', { op: 'replay' });
      });
      const stored = await srv.count('Reading');
      if (stored !== R || replay.count !== 0) throw new Error(`workbox replay: ${stored} of ${R} stored, ${replay.count} left queued`);
      record('3 upload', `workbox replayRequests → sqlite, one request per record (${fmt(R)} records)`, 'records/s', rate(R, replay.ms));
      log(`  [upload ${rep + 1}/${REPS}] workbox replay: ${fmt(rate(R, replay.ms))} records/s`);
    } finally {
      await srv.dispose();
    }
  }
  const now = med('3 upload', `sw-ingest now → sqlite, BSON, ${DEFAULT_BATCH}-record batches (default)`);
  check(`upload ${fmt(N)} queued → committed into SQLite ≥ 25,000 records/s`, now, now >= 25_000, ' records/s');
}

// ── 4. bytes on the wire ────────────────────────────────────────────────

async function wireSection(site: string): Promise<void> {
  const srv = await server(site);
  try {
    await withFreshBrowser(async (page) => {
      await page.goto(`${srv.url}/`);
      for (const batch of [50, 500, 2000]) {
        const w = await call(page, 'wireBytes', batch, Math.max(2, Math.round(10_000 / batch)));
        for (const [k, label] of [['bson', 'BSON'], ['bsonGzip', 'BSON + gzip'], ['json', 'JSON'], ['jsonGzip', 'JSON + gzip']] as const) {
          record('4 wire', `${label}, ${batch}-record bodies`, 'bytes/record', w[k]!);
        }
        record('4 wire', `encode BSON body with bson's serializer, ${batch}-record bodies`, 'µs/record', w.bsonEncodeUsPerRecord!);
        record('4 wire', `frame BSON body as the SW does (encodeBatchBody), ${batch}-record bodies`, 'µs/record', w.bsonFrameUsPerRecord!);
        record('4 wire', `encode JSON body, ${batch}-record bodies`, 'µs/record', w.jsonEncodeUsPerRecord!);
        record('4 wire', `gzip (CompressionStream) of BSON, ${batch}-record bodies`, 'MB/s', w.gzipMBps!);
      }
    });
  } finally {
    await srv.dispose();
  }
}

// ── 5. drain memory with a long offline backlog ─────────────────────────

async function memorySection(site: string): Promise<void> {
  const v = variants[0]!;
  for (let rep = 0; rep < REPS; rep++) {
    // Bounded by the batch, not the backlog: 10× the backlog at the same batch size, and a quarter of the batch.
    for (const [n, batch] of [[SIZES.backlog, DEFAULT_BATCH], [SIZES.backlog / 10, DEFAULT_BATCH], [SIZES.backlog / 10, 500]] as const) {
      const r = await timedDrain(site, v, n, 'sqlite', { batchMaxRecords: batch }, true);
      const label = `${fmt(n)} pending, ${batch}-record batches`;
      record('5 memory', `SW heap peak during the drain, ${label}`, 'MB', r.heapPeak / 1e6);
      record('5 memory', `SW heap after GC before the drain, ${label}`, 'MB', r.heapBefore / 1e6);
      record('5 memory', `SW heap after GC after the drain, ${label}`, 'MB', r.heapAfter / 1e6);
      record('5 memory', `drain rate, ${label}`, 'records/s', rate(n, r.ms));
      record('5 memory', `page: largest delay of a 20 ms timer during the drain, ${label}`, 'ms', r.maxTimerLagMs);
      record('5 memory', `page: long tasks > 50 ms during the drain, ${label}`, 'count', r.longTasks.length);
      log(`  [memory ${rep + 1}/${REPS}] ${label}: heap peak ${fmt(r.heapPeak / 1e6)} MB, ${fmt(rate(n, r.ms))} records/s, timer lag ${fmt(r.maxTimerLagMs)} ms`);
    }
  }
}

// ── 6. latency at a steady rate ─────────────────────────────────────────

async function latencySection(site: string): Promise<void> {
  const RATE = 1_000;
  const p99s: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    for (const v of variants) {
      const srv = await server(site);
      try {
        const r = await withFreshBrowser(async (page) => {
          await page.goto(`${srv.url}/${v.path}`);
          await call(page, 'openClient');
          return call(page, 'steady', RATE, SIZES.latencyS);
        });
        const db = new Database(srv.db.slice('sqlite:'.length), { readonly: true });
        const stored = (db.prepare('SELECT received_at - ingested_at AS l FROM records').all() as { l: number }[]).map((x) => x.l);
        db.close();
        if (stored.length !== r.sent) throw new Error(`latency: ${stored.length} of ${r.sent} stored`);
        const name = (what: string) => `sw-ingest ${v.label}: ${what} at ${fmt(RATE)} records/s`;
        record('6 latency', name('ingest() → received by the server, p50'), 'ms', quantile(stored, 0.5));
        record('6 latency', name('ingest() → received by the server, p99'), 'ms', quantile(stored, 0.99));
        record('6 latency', name('ingest() → confirmed on the device, p50'), 'ms', quantile(r.confirmMs, 0.5), 'after the commit and the outbox delete');
        record('6 latency', name('ingest() → confirmed on the device, p99'), 'ms', quantile(r.confirmMs, 0.99));
        if (v.path === '') p99s.push(quantile(r.confirmMs, 0.99));
        log(`  [latency ${rep + 1}/${REPS}] ${v.label}: confirmed p50 ${fmt(quantile(r.confirmMs, 0.5))} ms, p99 ${fmt(quantile(r.confirmMs, 0.99))} ms (rate ${fmt(r.actualRate)}/s)`);
      } finally {
        await srv.dispose();
      }
    }
  }
  const p99 = median(p99s);
  check('ingest → stored p99 < 1 s at 1,000 records/s (device-confirmed, median of runs)', p99, p99 < 1000, ' ms');
}

// ── run ─────────────────────────────────────────────────────────────────

function machine(): Record<string, string | number> {
  const git = (...a: string[]): string => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeGiB: Math.round(freemem() / 2 ** 30),
    node: process.version,
    chromium: execFileSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8' }).trim(),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'lib', 'sw', 'server') === '' ? 'no' : 'yes',
    loadAtStart: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

function printTable(): void {
  let section = '';
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      console.log(`\n## ${section}`);
    }
    const reps = r.values.length > 1 ? `  (${r.values.map(fmt).join(', ')})` : '';
    console.log(`${r.name.padEnd(width)}  ${fmt(median(r.values)).padStart(9)} ${r.unit}${reps}`);
  }
  console.log('\n## targets');
  for (const c of checks) console.log(`${c.ok ? 'met ' : 'MISS'}  ${c.target}: ${c.value}`);
}

const started = new Date();
const info = machine();
log(`sw-ingest bench: ${REPS} repetition(s)${QUICK ? ', quick sizes' : ''}; load ${info.loadAtStart}; ${info.chromium}; node ${info.node}`);
await snapshotServer();
const nowDist = join(ROOT, 'bench/results/.build');
rmSync(nowDist, { recursive: true, force: true });
await buildSwIngest(ROOT, nowDist);
variants.push({ label: 'now', path: '', dist: nowDist });
for (const [i, spec] of (opts.baseline ?? []).entries()) {
  const [ref, label] = spec.split('=') as [string, string | undefined];
  const short = execFileSync('git', ['rev-parse', '--short', ref], { cwd: ROOT, encoding: 'utf8' }).trim();
  variants.push({ label: `${label ?? 'before'} (${short})`, path: `baseline-${i + 1}/`, dist: await buildCommit(ref) });
}
const site = await buildSite(variants);
const sections: [string, (site: string) => Promise<void>][] = [
  ['ingest', ingestSection], ['main', mainThreadSection], ['wire', wireSection],
  ['upload', uploadSection], ['memory', memorySection], ['latency', latencySection],
];
const loads: string[] = [];
try {
  for (const [name, fn] of sections) {
    if (!SECTIONS.has(name)) continue;
    log(`${name}… (load ${loadavg()[0]!.toFixed(2)})`);
    loads.push(`${name}: ${loadavg()[0]!.toFixed(2)}`);
    await fn(site);
  }
} finally {
  rmSync(site, { recursive: true, force: true });
}
printTable();
const out = join(ROOT, 'bench/results');
mkdirSync(out, { recursive: true });
const file = join(out, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({
  started: started.toISOString(), finished: new Date().toISOString(), label: opts.label, reps: REPS, sizes: SIZES,
  variants, machine: { ...info, loadAtEnd: loadavg().map((l) => l.toFixed(2)).join(' '), loadPerSection: loads },
  durability: 'sw-ingest: strict unless the row says relaxed; raw IndexedDB and Dexie: as the row says; workbox: Chromium default (relaxed), it has no setting',
  rows: rows.map((r) => ({ ...r, median: median(r.values) })), checks,
}, null, 2));
console.log(`\nwrote ${file.slice(ROOT.length + 1)}`);
