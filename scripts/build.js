// Builds everything that ships, in order: page library (ESM + IIFE), the
// service worker (one classic script, no top-level await), type
// declarations, the server, and the demo (which embeds the built SW).
// Everything is built into a directory of its own and then swapped in for
// dist/ in one rename, so a server or test reading dist/ never sees a
// half-built tree (and two builds at once do not mix their files).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'vite';

const root = resolve(import.meta.dirname, '..');
const final = resolve(root, 'dist');
const dist = resolve(root, `.dist-building-${process.pid}`);
rmSync(dist, { recursive: true, force: true });

// workbox reads process.env.NODE_ENV to strip its dev logging; the page has no `process`.
const define = { 'process.env.NODE_ENV': JSON.stringify('production') };
const quiet = { logLevel: 'warn', configFile: false, root };

async function lib(entry, formats, fileName, options = {}) {
  await build({
    ...quiet,
    define,
    build: {
      outDir: dist,
      emptyOutDir: false,
      sourcemap: true,
      target: 'es2022',
      minify: options.minify ?? false,
      lib: { entry: resolve(root, entry), name: options.name, formats, fileName: () => fileName },
      rolldownOptions: { external: options.external ?? [] },
    },
  });
}

await lib('lib/index.ts', ['es'], 'sw-ingest.js', { external: ['bson', 'idb'] });
await lib('lib/index.ts', ['iife'], 'sw-ingest.iife.js', { name: 'SwIngest', minify: true });
await lib('sw/index.ts', ['iife'], 'sw-ingest-sw.js', { name: 'SwIngestServiceWorker', minify: true });
// `sw-ingest/sw` for an app's own bundled worker: dependencies stay imports for the app's bundler.
await lib('sw/module.ts', ['es'], 'sw-ingest-sw.mjs', { external: ['bson', 'idb', 'workbox-background-sync'] });

const tsc = resolve(root, 'node_modules/typescript/bin/tsc');
const types = resolve(dist, 'types');
execFileSync(process.execPath, [tsc, '-p', 'lib', '--outDir', types], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', 'sw/tsconfig.types.json', '--outDir', types], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', 'server', '--outDir', resolve(dist, 'server')], { cwd: root, stdio: 'inherit' });

await build({ ...quiet, root: resolve(root, 'demo'), define, build: { outDir: resolve(dist, 'demo'), emptyOutDir: true, target: 'es2022' } });
for (const f of ['sw-ingest-sw.js', 'sw-ingest-sw.js.map', 'sw-ingest.iife.js']) copyFileSync(resolve(dist, f), resolve(dist, 'demo', f));
const old = resolve(root, `.dist-old-${process.pid}`);
if (existsSync(final)) renameSync(final, old);
renameSync(dist, final);
rmSync(old, { recursive: true, force: true });
console.log('built dist/');
