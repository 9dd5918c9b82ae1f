// The ways into sw-ingest besides the <script> include (which every other
// browser test uses): ESM from the packed tarball in a Vite app, and an app
// that already has its own service worker.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { ROOT, TestServer } from '../helpers/server.js';
import { test, expect, openClient, ingestReadings, pending, expectExactlyOnce } from './fixtures.js';

test('an app with its own service worker adds sw-ingest with importScripts and keeps its fetch handling', async ({ page, server }) => {
  copyFileSync(join(ROOT, 'tests/fixtures/app-sw/app-sw.js'), join(server.siteDir, 'app-sw.js'));
  await openClient(page, server.url, { serviceWorker: '/app-sw.js' });
  await page.reload(); // now controlled by the app's worker
  await page.evaluate(async () => {
    const w = window as any;
    w.client = await w.SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/app-sw.js', schema: w.readingSchema });
  });
  expect(await page.evaluate(() => fetch('/hello').then((r) => r.text()))).toBe('from the app worker');
  await ingestReadings(page, 200);
  await page.evaluate(() => (window as any).client.flush());
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, 200);
  const scripts = await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).map((r) => r.active?.scriptURL));
  expect(scripts).toEqual([`${server.url}/app-sw.js`]); // one worker: the app's
});

test('the packed tarball installs into a fresh Vite app: ESM import, sw-ingest/sw bundled into its worker, types', async ({ page }) => {
  test.setTimeout(300_000);
  const work = mkdtempSync(join(tmpdir(), 'sw-ingest-vite-app-'));
  let server: TestServer | undefined;
  try {
    execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT, stdio: 'pipe' });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    const packed = execFileSync('tar', ['-tzf', join(work, tarball)], { encoding: 'utf8' }).split('\n');
    for (const file of ['dist/sw-ingest.iife.js', 'dist/sw-ingest-sw.js', 'dist/sw-ingest.js', 'dist/sw-ingest-sw.mjs',
      'dist/types/lib/index.d.ts', 'dist/types/sw/module.d.ts', 'dist/types/core/protocol.d.ts', 'LICENSE', 'README.md']) {
      expect(packed, file).toContain(`package/${file}`);
    }
    // The page package holds no server, CLI or demo.
    expect(packed.filter((f) => /^package\/(bin|server|demo|core)\/|^package\/dist\/(server|demo)\//.test(f))).toEqual([]);
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', join(work, tarball), 'package/package.json'], { encoding: 'utf8' })) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['bson', 'idb', 'workbox-background-sync']);
    const app = join(work, 'app');
    cpSync(join(ROOT, 'tests/fixtures/vite-app'), app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // As a front-end app installs it: install scripts allowed, and none runs (no native build).
    const started = performance.now();
    const install = spawnSync('npm', ['install', join(work, tarball), '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', '--loglevel', 'info'], { cwd: app, encoding: 'utf8' });
    expect(install.status, install.stderr).toBe(0);
    const log = install.stdout + install.stderr;
    test.info().annotations.push({ type: 'install', description: `page tarball installed in ${Math.round(performance.now() - started)} ms` });
    expect(log).not.toMatch(/node-gyp|prebuild-install|gyp info/);
    const installed = readdirSync(join(app, 'node_modules'));
    for (const serverOnly of ['fastify', 'better-sqlite3', 'pg', 'jose']) expect(installed, serverOnly).not.toContain(serverOnly);

    // The package's types reach the app through its exports map.
    execFileSync(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck',
      '--module', 'esnext', '--moduleResolution', 'bundler', '--target', 'es2022', '--lib', 'es2022,dom',
      join(app, 'type-errors.ts'), join(app, 'main.ts'),
    ], { cwd: app, stdio: 'pipe' });

    const out = join(app, 'dist');
    for (const built of readdirSync(join(app, 'node_modules/sw-ingest/dist')).filter((f) => f.endsWith('.mjs'))) {
      expect(readFileSync(join(app, 'node_modules/sw-ingest/dist', built), 'utf8'), built).not.toContain('process.env');
    }
    await build({ root: app, configFile: false, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
    await build({
      // No `define` of process.env.NODE_ENV: sw-ingest/sw must not leave it for the app to supply.
      root: app, configFile: false, logLevel: 'warn',
      build: { outDir: out, emptyOutDir: false, lib: { entry: join(app, 'sw.ts'), formats: ['iife'], name: 'appSw', fileName: () => 'sw.js' } },
    });

    server = await new TestServer({ staticDir: out }).start();
    await page.goto(`${server.url}/`);
    await expect(page).toHaveTitle('done 0', { timeout: 60_000 });
    expect(await server.count('Reading')).toBe(100);
    const docs = await server.exportDocs('Reading');
    expect(new Set(docs.map((d) => Number(d.seq))).size).toBe(100);
  } finally {
    await server?.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});
