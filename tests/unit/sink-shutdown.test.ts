// Stopping a real server process (the built CLI; `npm run build` first):
// SIGTERM drains what is in flight, and a kill -9 in the middle of batches
// loses nothing confirmed and, after everything is re-sent, stores every
// record once. Runs against both sinks.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { RecordResult } from '../../core/protocol.js';
import { forEachSink } from '../helpers/server-inject.js';
import { ROOT, TestServer } from '../helpers/server.js';
import { login, range, readingId, readingUpload, slowUpload, upload, type UploadOutcome } from '../helpers/http-upload.js';

before(() => {
  assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
});

/** The hex `_id`s the server's export holds, each once (asserted). */
async function storedIds(server: TestServer): Promise<Set<string>> {
  const docs = await server.exportDocs('Reading');
  const ids = new Set(docs.map((d) => (d._id as { toHexString(): string }).toHexString()));
  assert.equal(ids.size, docs.length, 'no _id is exported twice');
  return ids;
}

forEachSink('SIGTERM', (sink) => {
  let server: TestServer;
  before(async () => {
    server = await new TestServer({ sink, staticDir: false }).start();
  });
  after(() => server.dispose());

  it('finishes an upload in flight, refuses new connections meanwhile, then exits 0 with the rows committed', async () => {
    const { accessToken } = await login(server.url);
    const seqs = range(0, 3000);
    const slow = slowUpload(server.url, accessToken, readingUpload(seqs), { pieces: 10, gapMs: 150 });
    await slow.sent;
    await new Promise((r) => setTimeout(r, 100));
    const exited = server.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    // Still draining: the listening socket is closed, so a new connection is refused.
    const late = await upload(server.url, accessToken, readingUpload([99_999]));
    assert.ok('error' in late, `a new connection during the drain was answered: ${JSON.stringify(late)}`);

    const reply = await slow.done;
    assert.equal(reply.status, 200, reply.body);
    const { results } = JSON.parse(reply.body) as { results: RecordResult[] };
    assert.equal(results.length, seqs.length);
    assert.ok(results.every((r) => r.s === 'stored'));
    assert.equal(await exited, 0, server.stderr);

    await server.start(); // same database
    assert.equal(await server.count('Reading'), seqs.length);
    assert.deepEqual(await storedIds(server), new Set(seqs.map((s) => readingId(s).toHexString())));
  });
});

forEachSink('kill -9 in the middle of batches', (sink) => {
  let server: TestServer;
  before(async () => {
    server = await new TestServer({ sink, staticDir: false }).start();
  });
  after(() => server.dispose());

  it('loses nothing that was confirmed, stores no batch in part, and stores every record once after everything is re-sent', async () => {
    const { accessToken } = await login(server.url);
    const BATCHES = 60;
    const PER_BATCH = 250;
    const batches = range(0, BATCHES).map((b) => range(b * PER_BATCH, PER_BATCH));
    const bodies = batches.map((seqs) => readingUpload(seqs));

    // All batches at once; the server is killed after the first confirmations.
    let confirmedSoFar = 0;
    let killed: Promise<number | null> | undefined;
    const outcomes: UploadOutcome[] = await Promise.all(bodies.map(async (body) => {
      const outcome = await upload(server.url, accessToken, body);
      if ('status' in outcome && outcome.status === 200 && ++confirmedSoFar === 5) killed = server.signal('SIGKILL');
      return outcome;
    }));
    assert.ok(killed !== undefined, 'the server was killed');
    assert.equal(await killed, null); // died of the signal

    const confirmed = batches.filter((_, i) => { const o = outcomes[i]!; return 'status' in o && o.status === 200; });
    const lost = outcomes.filter((o) => 'error' in o).length;
    assert.equal(confirmed.length + lost, BATCHES, 'every upload was either confirmed or failed with the connection');
    assert.ok(confirmed.length >= 5 && lost >= 1, `killed mid-way: ${confirmed.length} confirmed, ${lost} lost`);
    for (const [i, o] of outcomes.entries()) {
      if ('results' in o) assert.ok(o.results!.every((r) => r.s === 'stored'), `batch ${i}: ${o.body.slice(0, 200)}`);
    }

    await server.start();
    // Nothing confirmed is missing (nor doubled) before anything is re-sent.
    const afterCrash = await storedIds(server);
    for (const seqs of confirmed) for (const s of seqs) assert.ok(afterCrash.has(readingId(s).toHexString()), `confirmed reading ${s} is stored`);
    // Each batch is one transaction: after the kill it is stored whole or not at all, never in part.
    const partial = batches.map((seqs) => seqs.filter((s) => afterCrash.has(readingId(s).toHexString())).length)
      .filter((n) => n !== 0 && n !== PER_BATCH);
    assert.deepEqual(partial, [], 'no batch is stored in part');

    // The device re-sends everything it has not deleted — and, to be sure, everything it has.
    const { accessToken: fresh } = await login(server.url);
    const resent = await Promise.all(bodies.map((body) => upload(server.url, fresh, body)));
    const tally = { stored: 0, duplicate: 0 };
    for (const [i, o] of resent.entries()) {
      assert.ok('results' in o && o.status === 200, `re-sent batch ${i}: ${JSON.stringify(o).slice(0, 300)}`);
      for (const r of o.results!) tally[r.s as 'stored' | 'duplicate']++;
    }
    assert.equal(tally.stored + tally.duplicate, BATCHES * PER_BATCH);
    assert.equal(tally.duplicate, afterCrash.size, 'exactly the rows stored before the crash answer duplicate');

    assert.equal(await server.count('Reading'), BATCHES * PER_BATCH);
    assert.deepEqual(await storedIds(server), new Set(range(0, BATCHES * PER_BATCH).map((s) => readingId(s).toHexString())));
  });
});
