#!/usr/bin/env node
// The sample app as a team would have it: both packages packed as they
// ship (`npm pack`, whose prepack builds them), installed from the tarballs
// into a copy of this directory outside the repository (so nothing of the
// monorepo's node_modules is in reach), and its Playwright tests run there.
//
//   node tests/sample-app/run.js        (npm run test:sample-app)
//
// Prints how long `npm install` took. Keeps the directory when a step fails.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const here = import.meta.dirname;
const root = resolve(here, '../..');
const work = mkdtempSync(join(tmpdir(), 'sw-ingest-sample-app-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');

// As a team's machine runs it: none of the developer's test settings, and
// none of the variables of an `npm run` around this script (an inner npm
// would read its npm_config_* as its own configuration).
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|SW_INGEST_)/i.test(k)));

/** Runs `command` in `cwd` with its output shown; exits when it fails. */
function run(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    console.error(`sample app: ${command} ${args.join(' ')} (in ${cwd}) failed with ${r.status ?? r.signal}; files kept in ${work}`);
    process.exit(1);
  }
}

/** Packs the package in `dir` into `tarballs` (its prepack builds it); returns the tarball's path. */
function pack(dir) {
  const before = new Set(readdirSync(tarballs));
  run('npm', ['pack', '--pack-destination', tarballs, '--silent'], dir);
  const made = readdirSync(tarballs).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (made.length !== 1) throw new Error(`npm pack in ${dir} made ${made.length} tarballs`);
  return join(tarballs, made[0]);
}

mkdirSync(tarballs);
const page = pack(root);
const server = pack(join(root, 'server'));
console.log(`sample app: packed ${relative(work, page)} and ${relative(work, server)}`);

cpSync(here, app, {
  recursive: true,
  filter: (src) => !/[/\\](node_modules|test-results|playwright-report)$|[/\\]run\.js$|[/\\]package-lock\.json$|[/\\]site[/\\]sw-ingest/.test(src),
});
const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
manifest.dependencies = { 'sw-ingest': `file:${page}`, 'sw-ingest-server': `file:${server}` };
writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');

const started = performance.now();
run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app);
console.log(`sample app: npm install took ${((performance.now() - started) / 1000).toFixed(1)} s`);

// The list reporter for people, the JSON one for the closing count line.
const results = join(work, 'results.json');
const tests = spawnSync('npx', ['playwright', 'test', '--reporter=list,json'], {
  cwd: app, stdio: ['ignore', 'inherit', 'inherit'], env: { ...env, PLAYWRIGHT_JSON_OUTPUT_NAME: results },
});
let stats = { expected: 0, unexpected: 0, flaky: 0, skipped: 0 };
try {
  stats = JSON.parse(readFileSync(results, 'utf8')).stats;
} catch {
  // no report: the run failed before any test; its exit code says so below
}
console.log(`sample-app: ${stats.expected + stats.flaky} passed, ${stats.unexpected} failed${stats.skipped > 0 ? `, ${stats.skipped} skipped` : ''}`);
if (tests.status !== 0 || stats.expected + stats.flaky === 0) {
  console.error(`sample app: playwright test failed (${tests.status ?? tests.signal}); files kept in ${work}`);
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
