import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Double, Long, ObjectId } from 'bson';
import {
  adminGet, encodeTestUpload, forEachSink, loginAnonymously, postBatch, startTestServer, TEST_SCHEMA, type TestServer,
} from '../helpers/server-inject.js';
import { runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, withClient } from '../helpers/postgres.js';



describe('sw-ingest command line', () => {
  let tmp: string;
  let schemaFile: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-cli-'));
    schemaFile = path.join(tmp, 'schema.json');
    fs.writeFileSync(schemaFile, JSON.stringify(TEST_SCHEMA));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('exits 2 with a message for an unknown verb', async () => {
    const { code, stderr, stdout } = await runCli(['frobnicate']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown command "frobnicate"/);
    assert.equal(stdout, '');
  });

  it('exits 2 for an unknown option or a missing --schema', async () => {
    const unknown = await runCli(['serve', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /bogus/);
    const missing = await runCli(['serve', '--db', `sqlite:${tmp}/x.db`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--schema/);
  });

  it('prints help with exit 0', async () => {
    const { code, stdout } = await runCli(['serve', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /SW_INGEST_PORT/);
  });

  it('exits 1 with the message for a bad schema', async () => {
    const bad = path.join(tmp, 'bad-schema.json');
    fs.writeFileSync(bad, JSON.stringify([{ name: 'T', asymmetric: true, properties: { _id: 'objectId' } }]));
    const badSchema = await runCli(['serve', '--schema', bad, '--db', `sqlite:${tmp}/bad.db`, '--port', '0']);
    assert.equal(badSchema.code, 1);
    assert.match(badSchema.stderr, /primaryKey "_id"/);
  });

  it('exits 1 naming the database, never its password, when PostgreSQL cannot be reached', async () => {
    const url = 'postgres://ingest:s3cret-pw@127.0.0.1:1/ingest';
    for (const [args, env] of [
      [['--db', url], {}],
      [[], { SW_INGEST_DB: url }],
      [[], { DATABASE_URL: url }], // used when neither --db nor SW_INGEST_DB is given
    ] as [string[], Record<string, string>][]) {
      const res = await runCli(['serve', '--schema', schemaFile, '--port', '0', ...args], env);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /PostgreSQL 127\.0\.0\.1:1\/ingest: .*ECONNREFUSED/);
      assert.doesNotMatch(res.stderr + res.stdout, /s3cret-pw/);
    }
    const exported = await runCli(['export', '--collection', 'Reading'], { DATABASE_URL: url });
    assert.equal(exported.code, 1);
    assert.match(exported.stderr, /PostgreSQL 127\.0\.0\.1:1\/ingest/);
  });

  it('exits 2 for a bad --db, DATABASE_URL or --db-pool-max, hiding passwords', async () => {
    const typo = await runCli(['serve', '--schema', schemaFile, '--db', 'postgress://u:hunter2@h/db']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /--db "postgress:\/\/u:\*\*\*@h\/db": expected/);
    assert.doesNotMatch(typo.stderr, /hunter2/);
    const fromEnv = await runCli(['serve', '--schema', schemaFile], { DATABASE_URL: 'mysql://u:hunter2@h/db' });
    assert.equal(fromEnv.code, 2);
    assert.match(fromEnv.stderr, /DATABASE_URL: "mysql:\/\/u:\*\*\*@h\/db"/);
    const pool = await runCli(['serve', '--schema', schemaFile, '--db', 'postgres://h/db', '--db-pool-max', '0']);
    assert.equal(pool.code, 2);
    assert.match(pool.stderr, /--db-pool-max "0"/);
  });

  it('serves: prints one listening line, never the admin key, and exits 0 on SIGTERM', async () => {
    const dir = path.join(tmp, 'serve');
    const child = startCli(['serve', '--port', '0', '--schema', schemaFile], { SW_INGEST_DB: `sqlite:${dir}/ingest.db` });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        stdout += d;
        const m = /^sw-ingest listening on http:\/\/127\.0\.0\.1:(\d+)\n$/.exec(stdout);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    assert.deepEqual(await health.json(), { ok: true });

    const keyFile = path.join(dir, 'admin-key');
    const adminKey = fs.readFileSync(keyFile, 'utf8').trim();
    assert.ok(stderr.includes(keyFile));
    assert.ok(!stderr.includes(adminKey) && !stdout.includes(adminKey));
    const count = await fetch(`http://127.0.0.1:${port}/api/admin/collections/Event/count`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.deepEqual(await count.json(), { count: 0 });

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.equal(stdout.split('\n').length, 2); // one line and its newline
  });
});

forEachSink('sw-ingest export', (sink) => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ sink });
    const { accessToken } = await loginAnonymously(server.app);
    const res = await postBatch(server.app, accessToken, encodeTestUpload([
      { c: 'Reading', doc: { _id: new ObjectId(), sensor: 'a', value: new Double(1), count: Long.fromNumber(7), at: new Date(0) } },
      { c: 'Reading', doc: { _id: new ObjectId(), sensor: 'b', value: new Double(0.5) } },
    ]));
    assert.equal(res.statusCode, 200);
  });
  after(() => server.close());

  for (const canonical of [false, true]) {
    for (const meta of [false, true]) {
      const flags = [...(canonical ? ['--canonical'] : []), ...(meta ? ['--meta'] : [])];
      it(`prints the same lines as the HTTP export (${flags.join(' ') || 'relaxed'})`, async () => {
        const query = [...(canonical ? ['format=canonical'] : []), ...(meta ? ['meta=true'] : [])].join('&');
        const http = await adminGet(server, `/api/admin/collections/Reading/export${query ? `?${query}` : ''}`);
        assert.equal(http.statusCode, 200);
        const cli = await runCli(['export', '--db', server.db, '--collection', 'Reading', ...flags]);
        assert.equal(cli.code, 0, cli.stderr);
        assert.equal(cli.stdout.split('\n').length, 3);
        assert.equal(cli.stdout, http.body);
        assert.equal(JSON.parse(cli.stdout.split('\n')[0]!).meta !== undefined, meta);
      });
    }
  }

  it('reads the database from DATABASE_URL when neither --db nor SW_INGEST_DB is given', { skip: sink !== 'postgres' }, async () => {
    const cli = await runCli(['export', '--collection', 'Reading'], { DATABASE_URL: server.db });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, (await adminGet(server, '/api/admin/collections/Reading/export')).body);
  });

  it('fails for a database that does not exist (or is not sw-ingest\'s), without creating anything', async () => {
    if (sink === 'sqlite') {
      const missing = path.join(server.dir, 'missing', 'none.db');
      const cli = await runCli(['export', '--db', `sqlite:${missing}`, '--collection', 'Reading']);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /does not exist/);
      assert.equal(fs.existsSync(missing), false);
      return;
    }
    const empty = await createTestDatabase();
    try {
      const cli = await runCli(['export', '--db', empty.url, '--collection', 'Reading']);
      assert.equal(cli.code, 1);
      assert.match(cli.stderr, /holds no sw-ingest tables/);
      const schemas = await withClient(empty.url, async (c) => (await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'sw_ingest'`)).rowCount);
      assert.equal(schemas, 0);
    } finally {
      await empty.drop();
    }
  });
});
