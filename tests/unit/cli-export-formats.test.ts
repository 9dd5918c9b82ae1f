// `sw-ingest export` as CSV, to a file, within a time range, and `sw-ingest stats`,
// on both sinks, against rows uploaded through the real ingest route.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, it } from 'node:test';
import { Double, Long, ObjectId } from 'bson';
import { runCli } from '../helpers/cli.js';
import {
  encodeTestUpload, forEachSink, loginAnonymously, postBatch, startTestServer, TEST_SCHEMA, type TestServer,
} from '../helpers/server-inject.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const cli = (args: string[]) => runCli(args);

forEachSink('sw-ingest export formats and stats', (sink) => {
  let server: TestServer;
  let schemaFile: string;
  let between: string;
  const ids = [new ObjectId(), new ObjectId(), new ObjectId()];

  before(async () => {
    server = await startTestServer({ sink });
    schemaFile = path.join(server.dir, 'schema.json');
    fs.writeFileSync(schemaFile, JSON.stringify(TEST_SCHEMA));
    const { accessToken } = await loginAnonymously(server.app);
    const upload = async (i: number, sensor: string) => {
      const res = await postBatch(server.app, accessToken, encodeTestUpload([{ c: 'Reading', doc: {
        _id: ids[i], sensor, value: new Double(1.5 + i), count: Long.fromNumber(i), at: new Date(Date.UTC(2026, 0, 1 + i)),
      } }]));
      assert.equal(res.statusCode, 200);
    };
    await upload(0, 'plain');
    await new Promise((r) => setTimeout(r, 30));
    between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 30));
    await upload(1, 'needs, "quoting"\nhere');
    await upload(2, 'third');
  });
  after(() => server.close());

  it('writes CSV with the schema\'s properties as columns, quoting where RFC 4180 says', async () => {
    const { code, stdout, stderr } = await cli(['export', '--db', server.db, '--collection', 'Reading', '--format', 'csv', '--schema', schemaFile]);
    assert.equal(code, 0, stderr);
    const lines = stdout.split('\r\n');
    assert.equal(lines[0], '_id,sensor,value,count,at,point');
    assert.ok(stdout.includes(`${ids[0]!.toHexString()},plain,1.5,0,2026-01-01T00:00:00Z,\r\n`), stdout);
    assert.ok(stdout.includes(`"needs, ""quoting""\nhere",2.5,1,2026-01-02T00:00:00Z,`), stdout);
    assert.equal(lines.filter((l) => l !== "").length, 1 + 3); // rows end in CRLF; the quoted newline stays inside its row
  });

  it('filters by receive time and writes to a file', async () => {
    const out = path.join(server.dir, 'since.ndjson');
    const since = await cli(['export', '--db', server.db, '--collection', 'Reading', '--since', between, '--out', out]);
    assert.equal(since.code, 0, since.stderr);
    assert.equal(since.stdout, '');
    const sensors = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).sensor).sort();
    assert.deepEqual(sensors, ['needs, "quoting"\nhere', 'third']);
    const until = await cli(['export', '--db', server.db, '--collection', 'Reading', '--until', between]);
    assert.deepEqual(until.stdout.trim().split('\n').map((l) => JSON.parse(l).sensor), ['plain']);
  });

  it('prints each collection\'s count and latest receive time', async () => {
    const { code, stdout } = await cli(['stats', '--db', server.db]);
    assert.equal(code, 0);
    assert.match(stdout, /^collection\s+count\s+last received\nReading\s+3\s+\d{4}-\d\d-\d\dT/);
  });

  it('refuses bad usage with exit 2 and a message', async () => {
    for (const args of [
      ['export', '--db', server.db, '--collection', 'Reading', '--format', 'xml'],
      ['export', '--db', server.db, '--collection', 'Reading', '--format', 'csv'],
      ['export', '--db', server.db, '--collection', 'Reading', '--since', 'yesterday-ish'],
      ['stats', '--db', server.db, '--bogus'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.ok(r.stderr.length > 0);
    }
  });
});
