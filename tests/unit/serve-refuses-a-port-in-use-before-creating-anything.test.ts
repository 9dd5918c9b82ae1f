// `sw-ingest serve` on a port another process holds exits 1 with a message
// naming the port, the address and what to do — before it creates the data
// directory, the database file or a secret: a fresh directory given as
// --db sqlite:<dir>/x.db and --data-dir stays nonexistent. A port taken
// between the probe and listen() gets the same message (describeListenError,
// checked here on a real EADDRINUSE).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { describeListenError } from '../../server/cli/listen-address.js';
import { runCli } from '../helpers/cli.js';
import { TEST_SCHEMA } from '../helpers/server-inject.js';

let tmp: string;
let schemaFile: string;
let holder: net.Server;
let port: number;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-port-'));
  schemaFile = path.join(tmp, 'schema.json');
  fs.writeFileSync(schemaFile, JSON.stringify(TEST_SCHEMA));
  holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen({ port: 0, host: '127.0.0.1' }, resolve));
  port = (holder.address() as net.AddressInfo).port;
});
after(async () => {
  await new Promise<void>((resolve) => holder.close(() => resolve()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const message = (p: number) => new RegExp(`^sw-ingest: port ${p} is in use on 127\\.0\\.0\\.1: stop the other server or pass --port `, 'm');

it('exits 1 naming the port, by --port and by SW_INGEST_PORT, and the fresh directories hold 0 files', async () => {
  for (const [args, env] of [
    [['--port', String(port)], {}],
    [[], { SW_INGEST_PORT: String(port) }],
  ] as [string[], Record<string, string>][]) {
    const fresh = path.join(tmp, `fresh-${Object.keys(env).length}`);
    const res = await runCli(['serve', '--schema', schemaFile, '--db', `sqlite:${fresh}/db/x.db`, '--data-dir', `${fresh}/data`, ...args], env);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, message(port));
    assert.equal(res.stdout, '');
    assert.equal(fs.existsSync(fresh), false, `nothing was created under ${fresh}`);
  }
});

it('a real EADDRINUSE from listen() reads the same, as serve reports a port taken after its probe: 1 message', async () => {
  const second = net.createServer();
  const err = await new Promise<Error>((resolve) => {
    second.once('error', resolve);
    second.listen({ port, host: '127.0.0.1', exclusive: true });
  });
  assert.equal((err as NodeJS.ErrnoException).code, 'EADDRINUSE');
  assert.match(`sw-ingest: ${describeListenError(err, port, '127.0.0.1').message}`, message(port));
});
