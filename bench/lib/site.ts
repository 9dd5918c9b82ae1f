/**
 * The site the bench's server serves: per sw-ingest build under test (the
 * current `dist/`, and optionally a baseline build of an older commit), the
 * built library and service worker as shipped, plus the bench's own page
 * script and the workbox contender's worker, bundled here with vite.
 */
import { execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';

export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Builds the page library (IIFE) and the service worker of the sources under
 * `srcRoot` into `outDir`, with the settings of scripts/build.js, without
 * touching `dist/` (others may be testing against it).
 */
export async function buildSwIngest(srcRoot: string, outDir: string): Promise<void> {
  for (const [entry, fileName, name] of [
    ['lib/index.ts', 'sw-ingest.iife.js', 'SwIngest'],
    ['sw/index.ts', 'sw-ingest-sw.js', 'SwIngestServiceWorker'],
  ] as const) {
    await build({
      logLevel: 'warn',
      configFile: false,
      root: srcRoot,
      define: { 'process.env.NODE_ENV': JSON.stringify('production') },
      build: {
        outDir, emptyOutDir: false, sourcemap: false, target: 'es2022', minify: true,
        lib: { entry: resolve(srcRoot, entry), name, formats: ['iife'], fileName: () => fileName },
      },
    });
  }
}

/** Extracts commit `ref` into a temporary directory (node_modules linked) and builds it; returns the output directory. */
export async function buildCommit(ref: string): Promise<string> {
  const src = mkdtempSync(join(tmpdir(), 'sw-ingest-bench-src-'));
  execSync(`git archive ${JSON.stringify(ref)} lib sw tsconfig.base.json | tar -x -C ${JSON.stringify(src)}`, { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
  const out = join(src, 'out');
  await buildSwIngest(src, out);
  return out;
}

/** One sw-ingest build to measure: served under `/<path>` (the current build at `/`). */
export interface Variant {
  /** Label in the table, e.g. `now` or `before (a670823)`. */
  label: string;
  /** URL path prefix, '' or 'baseline/'. */
  path: string;
  /** A directory holding sw-ingest.iife.js and sw-ingest-sw.js. */
  dist: string;
}

async function bundle(entry: string, outDir: string, fileName: string, name: string): Promise<void> {
  await build({
    logLevel: 'warn',
    configFile: false,
    root: ROOT,
    // workbox reads process.env.NODE_ENV to strip its dev logging (as scripts/build.js does).
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    build: {
      outDir,
      emptyOutDir: false,
      target: 'es2022',
      minify: true,
      lib: { entry: resolve(ROOT, entry), name, formats: ['iife'], fileName: () => fileName },
    },
  });
}

/** Builds the site into a fresh temporary directory and returns it. */
export async function buildSite(variants: readonly Variant[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-bench-site-'));
  const scripts = join(dir, '.scripts');
  await bundle('bench/site/page.ts', scripts, 'bench-page.js', 'SwIngestBench');
  await bundle('bench/site/workbox-sw.ts', scripts, 'workbox-sw.js', 'SwIngestBenchWorkbox');
  for (const v of variants) {
    const to = join(dir, v.path);
    mkdirSync(to, { recursive: true });
    for (const f of ['sw-ingest.iife.js', 'sw-ingest-sw.js']) {
      const from = join(v.dist, f);
      if (!existsSync(from)) throw new Error(`${from} is missing`);
      copyFileSync(from, join(to, f));
    }
    copyFileSync(join(ROOT, 'bench/site/index.html'), join(to, 'index.html'));
    for (const f of ['bench-page.js', 'workbox-sw.js']) copyFileSync(join(scripts, f), join(to, f));
    copyFileSync(join(ROOT, 'bench/site/opfs-journal-worker.js'), join(to, 'opfs-journal-worker.js'));
  }
  return dir;
}
