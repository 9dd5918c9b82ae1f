// `sw-ingest export --collection <name>` for a name the database holds no
// record of and the schema (when given) does not declare exits 1 and lists
// what the database holds and the schema declares; --out is not created.
// A declared type without records yet exports nothing, with exit 0. Both sinks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { Double, ObjectId } from 'bson';
import { runCli } from '../helpers/cli.js';
import { encodeTestUpload, forEachSink, loginAnonymously, postBatch, startTestServer, TEST_SCHEMA, type TestServer } from '../helpers/server-inject.js';

forEachSink('sw-ingest export of an unknown collection', (sink) => {
  let server: TestServer;
  let schemaFile: string;
  before(async () => {
    server = await startTestServer({ sink });
    schemaFile = path.join(server.dir, 'schema-with-note.json');
    fs.writeFileSync(schemaFile, JSON.stringify([
      ...TEST_SCHEMA,
      { name: 'Note', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', text: 'string' } },
    ]));
    const { accessToken } = await loginAnonymously(server.app);
    const res = await postBatch(server.app, accessToken, encodeTestUpload([
      { c: 'Reading', doc: { _id: new ObjectId(), sensor: 'a', value: new Double(1) } },
      { c: 'Reading', doc: { _id: new ObjectId(), sensor: 'b', value: new Double(2) } },
      { c: 'Event', doc: { _id: 'e1', kind: 'boot' } },
    ]));
    assert.equal(res.statusCode, 200);
  });
  after(() => server.close());

  it('exits 1 listing the 2 collections the database holds, and --out is not created', async () => {
    const out = path.join(server.dir, 'nope.ndjson');
    const res = await runCli(['export', '--db', server.db, '--collection', 'Nope', '--out', out]);
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.stderr, 'sw-ingest: no collection "Nope"; the database holds: Event, Reading; pass --schema to export a declared type that has no records yet\n');
    assert.equal(res.stdout, '');
    assert.equal(fs.existsSync(out), false);
  });

  it('with --schema, also lists the 3 types the schema declares', async () => {
    const res = await runCli(['export', '--db', server.db, '--collection', 'Nope', '--schema', schemaFile]);
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.stderr, `sw-ingest: no collection "Nope"; the database holds: Event, Reading; ${schemaFile} declares: Reading, Event, Note\n`);
  });

  it('a declared type without records exports 0 lines with exit 0', async () => {
    const res = await runCli(['export', '--db', server.db, '--collection', 'Note'], { SW_INGEST_SCHEMA: schemaFile });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '');
  });
});
