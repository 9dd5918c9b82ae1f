// `--db sqlite:<a text file>` fails with exit 1 naming the file as "not an
// SQLite database" — for serve, export, stats, keys list and keys create —
// and leaves the file as it was, with no secret written next to it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { TEST_SCHEMA } from '../helpers/server-inject.js';

const TEXT = 'these are my notes, not a database\n'.repeat(20);

let tmp: string;
let schemaFile: string;
let notes: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-notadb-'));
  schemaFile = path.join(tmp, 'schema.json');
  fs.writeFileSync(schemaFile, JSON.stringify(TEST_SCHEMA));
  fs.mkdirSync(path.join(tmp, 'data'));
  notes = path.join(tmp, 'data', 'notes.txt');
  fs.writeFileSync(notes, TEXT);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('each of 5 commands exits 1 naming the file, which is unchanged and alone in its directory', async () => {
  const db = `sqlite:${notes}`;
  for (const args of [
    ['serve', '--schema', schemaFile, '--port', '0', '--db', db],
    ['export', '--collection', 'Reading', '--db', db],
    ['stats', '--db', db],
    ['keys', 'list', '--db', db],
    ['keys', 'create', '--name', 'kiosk', '--db', db],
  ]) {
    const res = await runCli(args);
    assert.equal(res.code, 1, `${args[0]}: ${res.stderr}`);
    assert.match(res.stderr, new RegExp(`^sw-ingest: database ${notes.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not an SQLite database\\b`, 'm'), args.join(' '));
    assert.equal(res.stdout, '', 'no key, no listening line');
  }
  assert.equal(fs.readFileSync(notes, 'utf8'), TEXT);
  assert.deepEqual(fs.readdirSync(path.dirname(notes)), ['notes.txt'], 'no jwt-secret, admin-key, -wal or -shm');
});
