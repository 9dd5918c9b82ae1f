// sw-ingest-server/testing as a team gets it: in the tarball, behind the
// exports map, with @playwright/test as an optional peer (the app's own
// installation, never a second copy), and with every documented export.
// Reads the built server/dist (npm test builds first).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ROOT } from '../helpers/server.js';

const SERVER = `${ROOT}/server`;
const manifest = JSON.parse(readFileSync(`${SERVER}/package.json`, 'utf8')) as {
  exports: Record<string, { types: string; default: string }>;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

test('the tarball holds dist/server/testing.js, its .d.ts and the modules it imports', () => {
  // --ignore-scripts: list what is built now, without prepack building it again.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: SERVER, encoding: 'utf8' });
  const files = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  for (const f of ['dist/server/testing.js', 'dist/server/testing.d.ts']) assert.ok(files.has(f), f);
  const entry = readFileSync(`${SERVER}/dist/server/testing.js`, 'utf8');
  const imported = [...entry.matchAll(/from '\.\/(testing\/[\w-]+)\.js'/g)].map((m) => m[1]!);
  assert.ok(imported.length >= 3, `testing.js imports ${imported.join(', ')}`);
  for (const m of imported) {
    for (const ext of ['.js', '.d.ts']) assert.ok(files.has(`dist/server/${m}${ext}`), `dist/server/${m}${ext}`);
  }
});

test('the exports map points ./testing at the built files, with @playwright/test an optional peer', () => {
  assert.deepEqual(manifest.exports['./testing'], { types: './dist/server/testing.d.ts', default: './dist/server/testing.js' });
  assert.ok(manifest.peerDependencies?.['@playwright/test'], 'peerDependencies["@playwright/test"]');
  assert.equal(manifest.peerDependenciesMeta?.['@playwright/test']?.optional, true);
  assert.equal(manifest.dependencies['@playwright/test'], undefined, 'not a dependency: the app brings its own');
});

test('sw-ingest-server/testing exports the kit', async () => {
  const kit = await import('sw-ingest-server/testing') as Record<string, unknown>;
  for (const name of ['startIngestServer', 'goOffline', 'goOnline', 'fireSync', 'stopServiceWorker', 'waitForEmptyOutbox', 'ingestControls', 'test', 'expect']) {
    assert.equal(typeof kit[name], 'function', name);
  }
  assert.equal(typeof (kit.test as { use?: unknown }).use, 'function', 'test is a Playwright test');
  const types = readFileSync(`${SERVER}/dist/server/testing.d.ts`, 'utf8');
  for (const name of ['IngestTestServer', 'IngestTestServerOptions', 'IngestControls', 'FireSyncOptions', 'IngestFixtures']) assert.match(types, new RegExp(`\\b${name}\\b`), name);
});
