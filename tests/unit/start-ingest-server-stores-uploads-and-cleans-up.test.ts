// startIngestServer (sw-ingest-server/testing): a real server on a free
// port of 127.0.0.1, the app's schema and site, a temporary SQLite
// database, and the admin reads a test needs. Uploads go over HTTP as the
// service worker sends them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Double, Long, ObjectId } from 'bson';
import { startIngestServer } from '../../server/testing.js';
import { login, range, readingUpload, upload } from '../helpers/http-upload.js';
import { ROOT } from '../helpers/server.js';

const SCHEMA_FILE = join(ROOT, 'tests/fixtures/schema.json');

// Every temporary directory of these tests in one place of our own, to see what stop() leaves.
let scratch: string;
let savedTmp: string | undefined;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'kit-unit-'));
  savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = scratch;
});
after(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(scratch, { recursive: true, force: true });
});
const serverDirs = (): string[] => readdirSync(scratch).filter((d) => d.startsWith('sw-ingest-test-'));

test('serves the site and stores 20 uploaded readings, exported with their exact types: 20 of 20', async () => {
  const site = join(scratch, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>app</title>');
  const server = await startIngestServer({ schema: SCHEMA_FILE, static: pathToFileURL(site) });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(await (await fetch(`${server.url}/`)).text(), /<title>app<\/title>/);
    const { accessToken } = await login(server.url);
    const sent = await upload(server.url, accessToken, readingUpload(range(0, 20)));
    assert.ok('status' in sent && sent.status === 200, JSON.stringify(sent));
    await server.waitForCount('Reading', 20, { timeoutMs: 5_000 });
    assert.equal(await server.count('Reading'), 20);
    const docs = await server.exportDocs('Reading');
    assert.equal(docs.length, 20);
    for (const d of docs) {
      assert.ok(d._id instanceof ObjectId);
      assert.ok(d.seq instanceof Long, `seq is ${d.seq?.constructor?.name}`);
      assert.ok(d.temp instanceof Double, `temp is ${d.temp?.constructor?.name}`);
      assert.ok(d.at instanceof Date);
    }
    assert.deepEqual(docs.map((d) => Number(d.seq)).sort((a, b) => a - b), range(0, 20));
    const admin = await fetch(`${server.url}/api/admin/collections/Reading/count`, { headers: { authorization: `Bearer ${server.adminKey}` } });
    assert.deepEqual(await admin.json(), { count: 20 });
  } finally {
    await server.stop();
  }
});

test('waitForCount times out below the count and fails at once above it', async () => {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
  const server = await startIngestServer({ schema });
  try {
    const { accessToken } = await login(server.url);
    await upload(server.url, accessToken, readingUpload(range(0, 3)));
    await assert.rejects(server.waitForCount('Reading', 4, { timeoutMs: 300 }), /waitForCount\("Reading", 4\): the server holds 3 documents after 300 ms/);
    const started = Date.now();
    await assert.rejects(server.waitForCount('Reading', 2, { timeoutMs: 10_000 }), /holds 3 documents, more than 2/);
    assert.ok(Date.now() - started < 2_000);
    await assert.rejects(server.count('Nope'), /404/);
    assert.equal((await fetch(`${server.url}/`)).status, 404); // no site given
  } finally {
    await server.stop();
  }
});

test('stop() closes the server and removes its database directory; a second stop() does nothing', async () => {
  const server = await startIngestServer({ schema: SCHEMA_FILE, adminKey: 'my-admin-key' });
  assert.equal(server.adminKey, 'my-admin-key');
  assert.equal(serverDirs().length, 1);
  await server.stop();
  await server.stop();
  assert.deepEqual(serverDirs(), []);
  await assert.rejects(fetch(`${server.url}/api/health`));
});

test('a schema file that cannot be read is named in the error, and nothing is left behind', async () => {
  const missing = join(scratch, 'missing.json');
  await assert.rejects(startIngestServer({ schema: missing }), (err: Error) => err.message.includes(missing));
  assert.deepEqual(serverDirs(), []);
});
