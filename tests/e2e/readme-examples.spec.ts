// The README's examples, run as the README gives them (issue 15): every
// block marked `<!-- example: … -->` in the Quick start, Three ways in and
// Coming from Realm is read from README.md (tests/helpers/readme-examples.ts)
// and written to its file or run by bash, in projects outside the
// repository that install the two packages from their packed tarballs.
//
// The substitutions, each made by one function below and nowhere else:
// - `npm install sw-ingest` / `sw-ingest-server`: the tarball paths for the
//   package names (they are not on the registry);
// - `--port 8080`: `--port 0`, so that the OS picks a free port (others' test
//   servers run on this machine); the listening line names it, and the
//   README's curl line gets it for 8080;
// - `mongoimport …`: a file that collects its input (MongoDB's tools are not
//   installable here), which the spec-following reader then reads;
// - export-new.sh's `lag_seconds=60`: 0, so that the test need not wait a minute.
// Apart from those, one install serves every project: the Vite app starts
// from a copy of the quick start's node_modules (its own `npm install` lines
// then run and find both packages installed), and the other projects link it
// (a second build of better-sqlite3 would double the test's time).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { Double, Int32, Long, ObjectId, type Document } from 'bson';
import { parseRelaxedEjson } from '../helpers/ejson-spec-parse.js';
import { commandLines, readReadmeExamples, SERVER_EXAMPLES, type ReadmeExample } from '../helpers/readme-examples.js';
import { ROOT } from '../helpers/server.js';
import { DEFAULT_CSP } from '../../server/app.js';

/** Every marked block of the README, each run by a test below. */
const RUN = [
  'quick-start-install', 'quick-start-schema', 'quick-start-index-html', 'quick-start-app-js', 'quick-start-serve', 'quick-start-read',
  'vite-install', 'vite-index-html', 'vite-main-ts', 'vite-sw-ts', 'vite-sw-config', 'vite-tsconfig', 'vite-build', 'vite-serve',
  'existing-sw-js', 'existing-sw-app-js',
  'realm-mongoimport', 'realm-export-new',
];

const examples = readReadmeExamples();

/** The README's block `name`, which must be one this file runs. */
function block(name: string): ReadmeExample {
  if (!RUN.includes(name)) throw new Error(`"${name}" is not in RUN`);
  const found = examples.get(name);
  if (!found) throw new Error(`README.md has no block marked <!-- example: ${name} -->`);
  return found;
}

/** The commands of the shell block `name`. */
function commands(name: string): string[] {
  return commandLines(block(name).code);
}

/** `text` with `from` replaced by `to`; `from` must occur exactly once, so a changed README fails here, not later. */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`expected "${from}" once in: ${text}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

// As a user's shell has it: none of this run's npm_* (an inner npm would take
// them as its configuration), SW_INGEST_* or DATABASE_URL; the registry from
// npm's cache where it can.
const ENV: Record<string, string> = {
  ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] =>
    e[1] !== undefined && !/^(npm_|SW_INGEST_)/i.test(e[0]) && e[0] !== 'DATABASE_URL')),
  npm_config_prefer_offline: 'true',
};

/** Runs `command` with bash in `cwd`; rejects, with its output, unless it exits 0. */
async function run(command: string, cwd: string): Promise<string> {
  const child = spawn('bash', ['-c', command], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'close') as [number | null];
  if (code !== 0) throw new Error(`${command} (in ${cwd}) exited ${code}:\n${stdout}\n${stderr}`);
  return stdout;
}

let tarballs: Record<'sw-ingest' | 'sw-ingest-server', string>;

/** An `npm install` line of the README with the tarballs' paths for the packages' names (its comment left alone). */
function installFromTarballs(command: string): string {
  if (!command.startsWith('npm install ')) return command;
  const [line, comment] = command.split(/(?=\s#)/, 2) as [string, string | undefined];
  const substituted = line.replace(/(?<=\s)(sw-ingest-server|sw-ingest)(?=\s|$)/g, (name) => tarballs[name as keyof typeof tarballs]);
  return substituted + (comment ?? '');
}

/** A running `npx sw-ingest serve` of the README. */
interface Served {
  url: string;
  /** The README's command line `command` with this server's port for 8080. */
  onPort(command: string): string;
  stop(): Promise<void>;
}

/** Starts the README's serve command line in `cwd`, on a free port (see the top), and waits for its listening line. */
async function serve(command: string, cwd: string): Promise<Served> {
  const child = spawn('bash', ['-c', `exec ${replaceOnce(command, '--port 8080', '--port 0')}`], {
    cwd, env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'], // detached: its own process group, npx and node alike
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command}: no listening line within 30 s:\n${output}`)), 30_000);
    child.stderr.on('data', (d) => { output += d; });
    child.stdout.on('data', (d) => {
      output += d;
      const listening = /sw-ingest listening on (http:\/\/\S+)/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited ${code}:\n${output}`));
    });
  });
  const port = new URL(url).port;
  return {
    url,
    onPort: (line) => line.replaceAll(':8080', `:${port}`),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      process.kill(-child.pid!, 'SIGTERM');
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The count the README's curl line prints, run in `cwd` against `server`. */
async function curlCount(server: Served, cwd: string): Promise<number> {
  const [curl] = commands('quick-start-read');
  return (JSON.parse(await run(server.onPort(curl!), cwd)) as { count: number }).count;
}

/** The lines of an NDJSON export, each read by a spec-following reader. */
function readLines(ndjson: string): Document[] {
  return ndjson.split('\n').filter((line) => line !== '').map((line) => parseRelaxedEjson(line));
}

/**
 * Opens `url`, checks that it is served under the server's default policy,
 * and returns the CSP violations and page errors the page reports (expected
 * to stay empty).
 */
async function gotoUnderDefaultCsp(page: Page, url: string): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => { if (/Content Security Policy/i.test(message.text())) problems.push(message.text()); });
  page.on('pageerror', (error) => { problems.push(`page error: ${error.message}`); });
  const response = await page.goto(url);
  // The default, as the README's serve command leaves it: no inline script runs.
  expect(response!.headers()['content-security-policy']).toBe(DEFAULT_CSP);
  return problems;
}

/** The scripts of the origin's service worker registrations. */
function workerScripts(page: Page): Promise<(string | undefined)[]> {
  return page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).map((r) => r.active?.scriptURL));
}

let work: string;
/** The quick start's project: the README's install block ran here. */
let quickStart: string;

/** A new project `name` that uses the quick start's installed node_modules, with the Quick start's site in public/. */
async function projectWithQuickStartSite(name: string): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  cpSync(join(quickStart, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(quickStart, 'node_modules'), join(dir, 'node_modules'));
  // The install block's other lines (the copy into public/); its npm install lines ran once, in quickStart.
  for (const command of commands('quick-start-install').filter((c) => !c.startsWith('npm install '))) await run(command, dir);
  writeQuickStartSite(dir);
  return dir;
}

/** The Quick start's files, where its steps put them. */
function writeQuickStartSite(dir: string): void {
  writeFileSync(join(dir, 'public/schema.json'), block('quick-start-schema').code);
  writeFileSync(join(dir, 'public/index.html'), block('quick-start-index-html').code);
  writeFileSync(join(dir, 'public/app.js'), block('quick-start-app-js').code);
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  // The README's examples use SQLite: one run, in the first project, whatever the sinks.
  test.skip(test.info().project.name !== test.info().config.projects[0]!.name, 'the README examples run in the first project only');
  test.setTimeout(600_000); // packing, and better-sqlite3 compiled from source: several minutes on a busy machine
  work = mkdtempSync(join(tmpdir(), 'sw-ingest-readme-'));
  const packed = join(work, 'tarballs');
  mkdirSync(packed);
  for (const [name, dir] of [['sw-ingest', ROOT], ['sw-ingest-server', join(ROOT, 'server')]] as const) {
    const before = new Set(readdirSync(packed));
    await run(`npm pack --pack-destination ${packed} --silent`, dir); // its prepack builds the package
    const made = readdirSync(packed).filter((f) => !before.has(f));
    expect(made, `npm pack of ${name}`).toHaveLength(1);
    tarballs = { ...tarballs, [name]: join(packed, made[0]!) };
  }
  quickStart = join(work, 'quick-start');
  mkdirSync(quickStart);
  const started = performance.now();
  for (const command of commands('quick-start-install')) await run(installFromTarballs(command), quickStart);
  test.info().annotations.push({ type: 'install', description: `the quick start's install block ran in ${Math.round((performance.now() - started) / 1000)} s` });
});

test.afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

test('every block the README marks as an example is one this file runs (or the server examples test)', () => {
  expect([...examples.keys()].sort()).toEqual([...RUN, ...SERVER_EXAMPLES].sort());
});

test('the quick start, as written: index.html and app.js under the default CSP, npx sw-ingest serve, curl and export: 1 reading arrived', async ({ page }) => {
  writeQuickStartSite(quickStart);
  const [serveLine] = commands('quick-start-serve');
  const server = await serve(serveLine!, quickStart);
  try {
    const problems = await gotoUnderDefaultCsp(page, `${server.url}/`);
    await expect(page.locator('#status')).toHaveText('stored on the server');
    expect(problems).toEqual([]);
    expect(await workerScripts(page)).toEqual([`${server.url}/sw-ingest-sw.js`]);

    expect(await curlCount(server, quickStart)).toBe(1);
    const [, exportLine] = commands('quick-start-read');
    const docs = readLines(await run(exportLine!, quickStart));
    expect(docs).toHaveLength(1);
    const [doc] = docs as [Document];
    expect(doc._id).toBeInstanceOf(ObjectId);
    expect(doc.deviceId).toBe('d1');
    expect(doc.temp).toEqual(new Double(21.5));
    expect(doc.at).toBeInstanceOf(Date);
    // Relaxed: an int64 of 1 reads back as an int32 (the README's Export format says so; see the Realm test).
    expect(doc.seq).toEqual(new Int32(1));
  } finally {
    await server.stop();
  }
});

test('the Vite example, as written: schema.json imported, sw-ingest/sw bundled with no define, tsc, vite build, served from dist: 1 reading arrived', async ({ page }) => {
  const app = join(work, 'vite');
  mkdirSync(app);
  for (const file of ['package.json', 'package-lock.json', 'node_modules']) cpSync(join(quickStart, file), join(app, file), { recursive: true, verbatimSymlinks: true });
  for (const command of commands('vite-install')) await run(installFromTarballs(command), app);
  // The files the README names: schema.json is the Quick start's, next to index.html.
  const files: Record<string, string> = {
    'schema.json': 'quick-start-schema', 'index.html': 'vite-index-html', 'main.ts': 'vite-main-ts', 'sw.ts': 'vite-sw-ts',
    'vite.sw.config.ts': 'vite-sw-config', 'tsconfig.json': 'vite-tsconfig',
  };
  for (const [file, name] of Object.entries(files)) {
    const { code, lang } = block(name);
    if (lang === 'ts') expect(code.split('\n')[0], `${name} names its file`).toBe(`// ${file}`);
    writeFileSync(join(app, file), code);
  }
  for (const command of commands('vite-build')) await run(command, app);
  expect(readFileSync(join(app, 'dist/sw.js'), 'utf8')).not.toContain('process.env');

  const [serveLine] = commands('vite-serve');
  const server = await serve(serveLine!, app);
  try {
    const problems = await gotoUnderDefaultCsp(page, `${server.url}/`);
    await expect(page.locator('#status')).toHaveText('stored on the server');
    expect(problems).toEqual([]);
    expect(await workerScripts(page)).toEqual([`${server.url}/sw.js`]);
    expect(await curlCount(server, app)).toBe(1);
  } finally {
    await server.stop();
  }
});

test('the existing-service-worker example, as written: importScripts in the app\'s sw.js, one registration: 1 reading arrived', async ({ page }) => {
  const dir = await projectWithQuickStartSite('existing-sw');
  writeFileSync(join(dir, 'public/sw.js'), block('existing-sw-js').code);
  writeFileSync(join(dir, 'public/app.js'), block('existing-sw-app-js').code);
  const [serveLine] = commands('quick-start-serve');
  const server = await serve(serveLine!, dir);
  try {
    const problems = await gotoUnderDefaultCsp(page, `${server.url}/`);
    // No flush() in this app.js: the worker's drain after ingest() delivers.
    await expect.poll(() => curlCount(server, dir), { timeout: 30_000 }).toBe(1);
    expect(problems).toEqual([]);
    expect(await workerScripts(page)).toEqual([`${server.url}/sw.js`]); // one worker: the app's
  } finally {
    await server.stop();
  }
});

test('coming from Realm, as written: the export for mongoimport reads back with the schema\'s BSON types, and export-new.sh hands on each of 3 readings once', async ({ page }) => {
  const dir = await projectWithQuickStartSite('realm');
  const [serveLine] = commands('quick-start-serve');
  const server = await serve(serveLine!, dir);
  try {
    await page.goto(`${server.url}/`);
    await expect(page.locator('#status')).toHaveText('stored on the server');

    // What mongoimport would read: the command's left side, run as written.
    const [pipeline] = commands('realm-mongoimport');
    const [exportCommand, importer] = pipeline!.split(' | ') as [string, string];
    expect(importer).toBe('mongoimport --db app --collection Reading');
    const [doc] = readLines(await run(exportCommand, dir)) as [Document];
    expect(doc._id).toBeInstanceOf(ObjectId);
    expect(doc.deviceId).toBe('d1');
    expect(doc.seq).toEqual(Long.fromNumber(1)); // int64, as Realm stored it; relaxed gives an int32 (the quick start's test)
    expect(doc.temp).toEqual(new Double(21.5));
    expect(doc.at).toBeInstanceOf(Date);

    // export-new.sh, its mongoimport collecting what it is given.
    const received = 'mongoimport-input.ndjson';
    let script = block('realm-export-new').code;
    script = replaceOnce(script, 'lag_seconds=60', 'lag_seconds=0');
    script = replaceOnce(script, 'mongoimport --db app --collection Reading --mode upsert', `cat >> ${received}`);
    writeFileSync(join(dir, 'export-new.sh'), script);
    chmodSync(join(dir, 'export-new.sh'), 0o755);
    const sent = (): Document[] => (existsSync(join(dir, received)) ? readLines(readFileSync(join(dir, received), 'utf8')) : []);

    await run('./export-new.sh', dir);
    expect(sent()).toHaveLength(1);
    for (let load = 0; load < 2; load++) {
      await page.reload(); // app.js ingests one reading per load
      await expect(page.locator('#status')).toHaveText('stored on the server');
    }
    await expect.poll(() => curlCount(server, dir)).toBe(3);
    await run('./export-new.sh', dir);
    await run('./export-new.sh', dir); // nothing new
    const all = sent();
    expect(all).toHaveLength(3);
    const exported = readLines(await run(exportCommand, dir)).map((d) => (d._id as ObjectId).toHexString()).sort();
    expect(all.map((d) => (d._id as ObjectId).toHexString()).sort()).toEqual(exported);
    for (const d of all) expect(d.seq).toBeInstanceOf(Long);
    expect(readFileSync(join(dir, '.exported-until'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
  } finally {
    await server.stop();
  }
});
