// The README's server examples (ingestPlugin in a fastify app,
// createIngestServer, createIngestHandler in a plain Node server and in
// Express), run as the README gives them: each block is written to a file
// and run with node in a directory of its own; a device logs in and
// uploads a Reading, which is stored once, and the host's own route still
// answers. The one substitution: the fixed port (3000 or 8080) becomes a
// free one. Files are written under server/ so that `sw-ingest-server`,
// fastify and express resolve as in an app that installed them.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BSON, Binary, Double, ObjectId } from 'bson';
import { encodeUpload, PROTOCOL_VERSION, type Session } from '../../core/protocol.js';
import { readReadmeExamples, SERVER_EXAMPLES } from '../helpers/readme-examples.js';
import { ROOT } from '../helpers/server.js';

const examples = readReadmeExamples();
const base = path.join(ROOT, 'server/.readme-examples');
mkdirSync(base, { recursive: true });
after(() => rmSync(base, { recursive: true, force: true }));

/** A free port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  return port;
}

/** Polls `url` until it answers (any status). */
async function reachable(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the example exited with ${child.exitCode}:\n${output()}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${url} did not answer within 30 s:\n${output()}`);
}

/** One Reading of the README's schema ({_id: objectId, value: double}) as an upload body. */
function oneReading(): Uint8Array<ArrayBuffer> {
  return encodeUpload({
    v: PROTOCOL_VERSION, client: 'readme', sentAt: new Date(),
    records: [{ c: 'Reading', t: new Date(), d: new Binary(BSON.serialize({ _id: new ObjectId(), value: new Double(21.5) })) }],
  });
}

/** Logs in and uploads one Reading through `api` (the pages' endpoint); resolves with the verdict. */
async function uploadOne(api: string): Promise<string> {
  const session = await (await fetch(`${api}/auth/anonymous`, { method: 'POST' })).json() as Session;
  const res = await fetch(`${api}/batches`, {
    method: 'POST', headers: { 'Content-Type': 'application/bson', Authorization: `Bearer ${session.accessToken}` }, body: oneReading(),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { results: Array<{ s: string }> }).results.map((r) => r.s).join(',');
}

/** Runs an example: writes it, substitutes the port, starts node, and hands the origin to `check`; then SIGTERM. */
async function runExample(name: (typeof SERVER_EXAMPLES)[number], fixedPort: number, check: (origin: string, dir: string) => Promise<void>): Promise<void> {
  const example = examples.get(name);
  assert.ok(example, `README marks the example ${name}`);
  const dir = mkdtempSync(path.join(base, `${name}-`));
  mkdirSync(path.join(dir, 'public'));
  writeFileSync(path.join(dir, 'public/index.html'), '<!doctype html><title>my site</title>');
  const port = await freePort();
  const code = example.code.replaceAll(String(fixedPort), String(port));
  assert.notEqual(code, example.code, `the example listens on ${fixedPort}`);
  writeFileSync(path.join(dir, 'server.mjs'), code);
  const child = spawn(process.execPath, ['server.mjs'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  try {
    const origin = `http://127.0.0.1:${port}`;
    await reachable(origin, child, () => output);
    await check(origin, dir);
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** The admin key the example's server generated next to its database. */
const adminKey = (dir: string): string => readFileSync(path.join(dir, 'data/admin-key'), 'utf8').trim();

describe('the README server examples, as written', () => {
  it('ingestPlugin in a fastify app: the host route answers, 1 reading stored, counted by the admin route under the prefix', async () => {
    await runExample('server-ingest-plugin', 3000, async (origin, dir) => {
      assert.equal(await (await fetch(`${origin}/`)).text(), 'my app');
      assert.equal(await uploadOne(`${origin}/api/ingest`), 'stored');
      const count = await fetch(`${origin}/api/ingest/admin/collections/Reading/count`, { headers: { Authorization: `Bearer ${adminKey(dir)}` } });
      assert.deepEqual(await count.json(), { count: 1 });
    });
  });

  it('createIngestServer: the site, the added route and the API answer, 1 reading stored', async () => {
    await runExample('server-create-ingest-server', 8080, async (origin, dir) => {
      assert.match(await (await fetch(`${origin}/`)).text(), /my site/);
      assert.deepEqual(await (await fetch(`${origin}/api/version`)).json(), { version: '1.0.0' });
      assert.equal(await uploadOne(`${origin}/api/ingest`), 'stored');
      const count = await fetch(`${origin}/api/admin/collections/Reading/count`, { headers: { Authorization: `Bearer ${adminKey(dir)}` } });
      assert.deepEqual(await count.json(), { count: 1 });
    });
  });

  it('createIngestHandler in a plain Node server: the host answers its own URLs, 1 reading stored', async () => {
    await runExample('server-ingest-handler-node', 3000, async (origin) => {
      assert.equal(await (await fetch(`${origin}/somewhere`)).text(), 'my app');
      assert.equal(await uploadOne(`${origin}/api/ingest`), 'stored');
    });
  });

  it('createIngestHandler as an Express middleware: the Express route answers, 1 reading stored', async () => {
    await runExample('server-ingest-handler-express', 3000, async (origin) => {
      assert.equal(await (await fetch(`${origin}/`)).text(), 'my app');
      assert.equal(await uploadOne(`${origin}/api/ingest`), 'stored');
    });
  });
});
