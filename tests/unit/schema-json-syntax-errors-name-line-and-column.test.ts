// A schema file that is not JSON is reported with its path, the line and
// column of the mistake and what was expected there — the same message from
// `sw-ingest serve`, `sw-ingest export --format csv`, createIngestServer,
// createIngestHandler and ingestPlugin (all read it through loadSchema).
// Node 20's own JSON.parse message has no position for this mistake.
// Imports the package by name: `npm run build` first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import Fastify from 'fastify';
import { createIngestHandler, createIngestServer, ingestPlugin } from 'sw-ingest-server';
import { runCli } from '../helpers/cli.js';

const BROKEN = `[
  { "name": "Reading", "asymmetric": true, "primaryKey": "_id",
    "properties": { "_id": "objectId", "value": double } }
]
`;

let tmp: string;
let schemaFile: string;
let expected: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-schema-syntax-'));
  schemaFile = path.join(tmp, 'schema.json');
  fs.writeFileSync(schemaFile, BROKEN);
  expected = `schema file ${schemaFile}: JSON syntax error at line 3, column 49: Object value expected after ':'`;
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('Node\'s own message gives no position for this file: 0 positions', () => {
  assert.throws(() => JSON.parse(BROKEN), (err: Error) => !/position/.test(err.message));
});

it('serve and export --format csv exit 1 with the line, the column and the detail: 2 commands', async () => {
  for (const args of [
    ['serve', '--schema', schemaFile, '--port', '0', '--db', `sqlite:${tmp}/serve/x.db`],
    ['export', '--format', 'csv', '--schema', schemaFile, '--collection', 'Reading', '--db', `sqlite:${tmp}/none.db`],
  ]) {
    const res = await runCli(args);
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.stderr, `sw-ingest: ${expected}\n`, args[0]);
  }
  assert.equal(fs.existsSync(path.join(tmp, 'serve')), false, 'serve created nothing');
});

it('createIngestServer, createIngestHandler and ingestPlugin reject with the same message: 3 ways in', async () => {
  const options = { schema: schemaFile, db: `sqlite:${tmp}/in-process/x.db` };
  await assert.rejects(createIngestServer(options), (err: Error) => err.message === expected);
  await assert.rejects(createIngestHandler(options), (err: Error) => err.message === expected);
  const host = Fastify();
  try {
    await assert.rejects(async () => {
      await host.register(ingestPlugin, { ...options, prefix: '/api/ingest' });
      await host.ready();
    }, (err: Error) => err.message === expected);
  } finally {
    await host.close().catch(() => {});
  }
});
