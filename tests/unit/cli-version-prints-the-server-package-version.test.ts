// `sw-ingest --version`, `-v` and `sw-ingest version` print
// `sw-ingest-server <version>` from server/package.json, read when asked:
// from source, from the built bin, and from a tree laid out as the
// installed package is (dist/server/cli/ three levels under package.json),
// whose package.json says another version. The README documents it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { runCli } from '../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'server/package.json'), 'utf8')) as { version: string }).version;
const run = promisify(execFile);

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-version-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('prints sw-ingest-server and the package version on stdout with exit 0, for all three spellings: 3 runs', async () => {
  for (const args of [['--version'], ['-v'], ['version']]) {
    const res = await runCli(args);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, `sw-ingest-server ${VERSION}\n`, args.join(' '));
    assert.equal(res.stderr, '');
  }
});

it('the built bin prints the same: 1 run', async () => {
  const built = path.join(ROOT, 'server/dist/server/cli/version.js');
  assert.ok(fs.existsSync(built), 'npm run build first');
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'server/bin/sw-ingest.js'), '--version'], { cwd: tmp });
  assert.equal(stdout, `sw-ingest-server ${VERSION}\n`);
});

it('reads the package.json of the installed package it runs from, at run time: 1 version', async () => {
  const pkg = path.join(tmp, 'node_modules/sw-ingest-server');
  fs.mkdirSync(path.join(pkg, 'dist/server/cli'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'server/dist/server/cli/version.js'), path.join(pkg, 'dist/server/cli/version.js'));
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'sw-ingest-server', version: '9.8.7-packed', type: 'module' }));
  // A package.json of another name on the way up is passed over.
  fs.writeFileSync(path.join(pkg, 'dist/package.json'), JSON.stringify({ name: 'something-else', version: '0.0.0', type: 'module' }));
  const script = `import(${JSON.stringify(path.join(pkg, 'dist/server/cli/version.js'))}).then((m) => m.printVersion())`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: tmp });
  assert.equal(stdout, 'sw-ingest-server 9.8.7-packed\n');
});

it('the README\'s Server usage block and the main help mention it: 2 places', async () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const server = readme.slice(readme.indexOf('\n## Server\n'));
  const usage = /```\n([\s\S]*?)```/.exec(server)![1]!;
  assert.match(usage, /^sw-ingest --version\b/m);
  assert.match((await runCli(['help'])).stdout, /--version/);
});
