// Concurrent uploads whose records overlap — retries racing the original,
// duplicates inside a batch — store every record once, and exactly one
// reply answers `stored` for it. Both sinks; on PostgreSQL the batches run
// on separate pooled connections at the same time.
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { ObjectId } from 'bson';
import {
  countRows, encodeTestUpload, forEachSink, loginAnonymously, postBatch, readRows, startTestServer, type TestServer,
} from '../helpers/server-inject.js';

forEachSink('concurrent overlapping batches', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('store each record once, with exactly one `stored` answer across all replies', async () => {
    server = await startTestServer({ sink });
    const { accessToken } = await loginAnonymously(server.app);
    const KEYS = 600;
    const BATCHES = 12;
    const PER_BATCH = 300;
    // Batch b holds keys b*50 … b*50+299 (mod 600): each key is in six batches,
    // and batch 0's first key also appears twice in batch 0 itself.
    const batches = Array.from({ length: BATCHES }, (_, b) => Array.from({ length: PER_BATCH }, (_, i) => `k${String((b * 50 + i) % KEYS).padStart(4, '0')}`));
    batches[0]!.push(batches[0]![0]!);
    const replies = await Promise.all(batches.map((ids) => postBatch(server!.app, accessToken, encodeTestUpload(
      ids.map((id) => ({ c: 'Event', doc: { _id: id, kind: 'race' } })),
    ))));

    const storedBy = new Map<string, number>();
    for (const [b, reply] of replies.entries()) {
      assert.equal(reply.statusCode, 200, reply.body);
      const results = reply.json().results as { s: string }[];
      assert.equal(results.length, batches[b]!.length);
      results.forEach((r, i) => {
        assert.ok(r.s === 'stored' || r.s === 'duplicate', JSON.stringify(r));
        if (r.s === 'stored') storedBy.set(batches[b]![i]!, (storedBy.get(batches[b]![i]!) ?? 0) + 1);
      });
    }
    // The duplicate inside batch 0 is never the stored one.
    assert.equal(replies[0]!.json().results.at(-1).s, 'duplicate');
    assert.equal(storedBy.size, KEYS);
    assert.ok([...storedBy.values()].every((n) => n === 1), 'no key answered stored twice');
    assert.equal(await countRows(server, 'Event'), KEYS);
    const ids = (await readRows(server)).map((r) => r.id);
    assert.equal(new Set(ids).size, KEYS);
  });

  it('answer a re-sent batch with duplicate while its first send is still being written', async () => {
    server = await startTestServer({ sink });
    const { accessToken } = await loginAnonymously(server.app);
    const body = encodeTestUpload(Array.from({ length: 2000 }, () => ({ c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: 1.5 } })));
    const [a, b] = await Promise.all([postBatch(server.app, accessToken, body), postBatch(server.app, accessToken, body)]);
    const ra = a.json().results as { s: string }[];
    const rb = b.json().results as { s: string }[];
    for (let i = 0; i < ra.length; i++) assert.deepEqual([ra[i]!.s, rb[i]!.s].sort(), ['duplicate', 'stored'], `record ${i}`);
    assert.equal(await countRows(server, 'Reading'), 2000);
  });
});
