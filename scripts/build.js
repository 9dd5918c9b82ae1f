// Builds what ships, in order (run with `node --import tsx`, as it reads the
// table of targets from vite.config.ts). `--page`: the page library (ESM +
// IIFE), the service worker (one classic script, no top-level await) and
// their type declarations, into dist/ (the sw-ingest package). `--server`: the server
// package with the core/ it shares, into server/dist/ (sw-ingest-server).
// No flag: both, and the demo (which embeds the built SW) into demo/dist/.
//
// Each output is built into a directory of its own and then swapped in with
// one rename, so a server or test reading it never sees a half-built tree
// (and two builds at once do not mix their files).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { build } from 'vite';
import { DEFINE, TARGETS } from '../vite.config.ts';

const root = resolve(import.meta.dirname, '..');
const flags = new Set(process.argv.slice(2));
const all = !flags.has('--page') && !flags.has('--server');
const tsc = resolve(root, 'node_modules/typescript/bin/tsc');

const quiet = { logLevel: 'warn', configFile: false, root };

/** Builds into a fresh sibling of `final` with `make(dir)`, then swaps it in. */
async function atomically(final, make) {
  const building = resolve(dirname(final), `.dist-building-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  await make(building);
  const old = resolve(dirname(final), `.dist-old-${process.pid}`);
  if (existsSync(final)) renameSync(final, old);
  renameSync(building, final);
  rmSync(old, { recursive: true, force: true });
}

/** Builds one {@link TARGETS} entry into `outDir`. */
async function target(outDir, t) {
  await build({
    ...quiet,
    define: DEFINE,
    build: {
      outDir,
      emptyOutDir: false,
      sourcemap: true,
      target: 'es2022',
      minify: t.minify ?? false,
      lib: { entry: resolve(root, t.entry), name: t.name, formats: [t.format], fileName: () => t.file },
      rolldownOptions: { external: t.external ?? [] },
    },
  });
}

if (all || flags.has('--page')) {
  await atomically(resolve(root, 'dist'), async (dist) => {
    for (const t of TARGETS) await target(dist, t);
    const types = resolve(dist, 'types');
    execFileSync(process.execPath, [tsc, '-p', 'lib', '--outDir', types], { cwd: root, stdio: 'inherit' });
    execFileSync(process.execPath, [tsc, '-p', 'sw/tsconfig.types.json', '--outDir', types], { cwd: root, stdio: 'inherit' });
  });
  console.log('built dist/ (sw-ingest)');
}

if (all || flags.has('--server')) {
  await atomically(resolve(root, 'server/dist'), async (dist) => {
    execFileSync(process.execPath, [tsc, '-p', 'server', '--outDir', dist, '--tsBuildInfoFile', resolve(dist, '.tsbuildinfo')], { cwd: root, stdio: 'inherit' });
  });
  console.log('built server/dist/ (sw-ingest-server)');
}

if (all) {
  await atomically(resolve(root, 'demo/dist'), async (out) => {
    await build({ ...quiet, root: resolve(root, 'demo'), publicDir: false, define: DEFINE, build: { outDir: out, emptyOutDir: true, target: 'es2022' } });
    for (const f of ['sw-ingest-sw.js', 'sw-ingest-sw.js.map', 'sw-ingest.iife.js']) copyFileSync(resolve(root, 'dist', f), resolve(out, f));
  });
  console.log('built demo/dist/');
}
