import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, it } from 'node:test';
import { BSON, Binary, Double, Int32, Long, ObjectId } from 'bson';
import { encodeUpload } from '../../core/protocol.js';
import {
  countRows, encodeTestUpload, loginAnonymously, postBatch, readRows, forEachSink, startTestServer, type TestServer,
} from '../helpers/server-inject.js';

const reading = (extra: Record<string, unknown> = {}) => ({
  c: 'Reading',
  doc: { _id: new ObjectId(), sensor: 's1', value: new Double(1.5), ...extra },
});

forEachSink('uploading batches', (sink) => {
  let server: TestServer;
  let token: string;
  beforeEach(async () => {
    server = await startTestServer({ sink, maxRecordsPerBatch: 5 });
    token = (await loginAnonymously(server.app)).accessToken;
  });
  afterEach(() => server.close());

  it('stores a batch, then answers duplicate for every record when it is sent again', async () => {
    const body = encodeTestUpload([reading(), reading(), { c: 'Event', doc: { _id: 'e1', kind: 'click' } }]);
    const first = await postBatch(server.app, token, body);
    assert.equal(first.statusCode, 200);
    assert.deepEqual(first.json(), { v: 1, results: [{ s: 'stored' }, { s: 'stored' }, { s: 'stored' }] });
    assert.equal(await countRows(server), 3);

    const second = await postBatch(server.app, token, body);
    assert.equal(second.statusCode, 200);
    assert.deepEqual(second.json(), { v: 1, results: [{ s: 'duplicate' }, { s: 'duplicate' }, { s: 'duplicate' }] });
    assert.equal(await countRows(server), 3);
  });

  it('answers duplicate for a second record with the same _id in one batch', async () => {
    const r = reading();
    const res = await postBatch(server.app, token, encodeTestUpload([r, r]));
    assert.deepEqual(res.json().results, [{ s: 'stored' }, { s: 'duplicate' }]);
    assert.equal(await countRows(server, 'Reading'), 1);
  });

  it('rejects invalid records one by one and stores the valid ones of the same batch', async () => {
    const res = await postBatch(server.app, token, encodeTestUpload([
      reading(),
      reading({ value: 'not a number' }),
      reading({ colour: 'red' }),
      reading({ count: new Double(1.5) }),
      { c: 'Event', doc: { _id: 'e1', kind: 'ok' } },
    ]));
    assert.equal(res.statusCode, 200);
    const { results } = res.json();
    assert.deepEqual(results[0], { s: 'stored' });
    assert.equal(results[1].s, 'rejected');
    assert.equal(results[1].code, 'wrong-type');
    assert.match(results[1].message, /Reading\.value/);
    assert.equal(results[2].code, 'unknown-field');
    assert.match(results[2].message, /colour/);
    assert.equal(results[3].code, 'wrong-type'); // the wire accepts only exact BSON types: a double is no int
    assert.deepEqual(results[4], { s: 'stored' });
    assert.equal(await countRows(server, 'Reading'), 1);
    assert.equal(await countRows(server, 'Event'), 1);
  });

  it('rejects a record whose document is not BSON and stores the others', async () => {
    const good = reading();
    const body = encodeUpload({
      v: 1, client: 'c', sentAt: new Date(),
      records: [
        { c: 'Reading', t: new Date(), d: new Binary(randomBytes(40)) },
        { c: 'Reading', t: new Date(), d: new Binary(BSON.serialize(good.doc)) },
      ],
    });
    const res = await postBatch(server.app, token, Buffer.from(body));
    assert.equal(res.statusCode, 200);
    const { results } = res.json();
    assert.equal(results[0].code, 'malformed-body');
    assert.deepEqual(results[1], { s: 'stored' });
    assert.equal(await countRows(server), 1);
  });

  it('refuses the whole batch when a record names an unknown collection', async () => {
    const res = await postBatch(server.app, token, encodeTestUpload([reading(), { c: 'Nope', doc: { _id: 'x' } }]));
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    const { error } = res.json();
    assert.equal(error.code, 'unknown-collection');
    assert.equal(error.collection, 'Nope');
    assert.equal(await countRows(server), 0);
  });

  it('refuses an embedded type as a collection', async () => {
    const res = await postBatch(server.app, token, encodeTestUpload([{ c: 'Point', doc: { x: new Double(1), y: new Double(2) } }]));
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'unknown-collection');
  });

  it('refuses random bytes and a truncated body as malformed, storing nothing', async () => {
    const body = encodeTestUpload([reading(), reading()]);
    for (const bad of [randomBytes(200), body.subarray(0, body.length - 10), Buffer.alloc(0)]) {
      const res = await postBatch(server.app, token, bad);
      assert.equal(res.statusCode, 400, `for ${bad.length} bytes`);
      assert.equal(res.json().error.code, 'malformed-body');
    }
    assert.equal(await countRows(server), 0);
  });

  it('refuses bad framing: protocol version, client, sentAt, records, record fields', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ v: 2 }, 'unsupported-protocol'],
      [{ v: 'one' }, 'malformed-body'],
      [{ client: 42 }, 'malformed-body'],
      [{ sentAt: 'yesterday' }, 'malformed-body'],
      [{ records: 'none' }, 'malformed-body'],
      [{ records: [{ c: 'Reading', t: new Date(), d: 'not binary' }] }, 'malformed-body'],
      [{ records: [{ c: 'Reading', t: 5, d: new Binary(BSON.serialize(reading().doc)) }] }, 'malformed-body'],
    ];
    for (const [overrides, code] of cases) {
      const res = await postBatch(server.app, token, encodeTestUpload([reading()], overrides));
      assert.equal(res.statusCode, 400, JSON.stringify(overrides));
      assert.equal(res.json().error.code, code, JSON.stringify(overrides));
    }
    assert.equal(await countRows(server), 0);
  });

  it('rejects a string _id containing NUL, which no sink key can hold, and a client id containing NUL', async () => {
    const res = await postBatch(server.app, token, encodeTestUpload([
      { c: 'Event', doc: { _id: 'a\u0000b', kind: 'x' } },
      { c: 'Event', doc: { _id: 'ab', kind: 'x' } },
    ]));
    assert.equal(res.statusCode, 200);
    const { results } = res.json();
    assert.equal(results[0].s, 'rejected');
    assert.equal(results[0].code, 'wrong-type');
    assert.match(results[0].message, /Event\._id: .*NUL/);
    assert.deepEqual(results[1], { s: 'stored' });
    const badClient = await postBatch(server.app, token, encodeTestUpload([reading()], { client: 'out\u0000box' }));
    assert.equal(badClient.statusCode, 400);
    assert.equal(badClient.json().error.code, 'malformed-body');
    assert.equal(await countRows(server), 1);
  });

  it('refuses more records than maxRecordsPerBatch', async () => {
    const res = await postBatch(server.app, token, encodeTestUpload(Array.from({ length: 6 }, () => reading())));
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'too-many-records');
    assert.equal(await countRows(server), 0);
  });

  it('answers an empty batch with no results', async () => {
    const res = await postBatch(server.app, token, encodeTestUpload([]));
    assert.deepEqual(res.json(), { v: 1, results: [] });
  });

  it('stores its own BSON of the validated document with owner and client', async () => {
    const session = await loginAnonymously(server.app);
    const r = reading({ count: new Int32(5) });
    const res = await postBatch(server.app, session.accessToken, encodeTestUpload([r], { client: 'outbox-7' }));
    assert.deepEqual(res.json().results, [{ s: 'stored' }]);
    const [row] = await readRows(server);
    assert.ok(row);
    assert.equal(row.owner, session.userId);
    assert.equal(row.client_id, 'outbox-7');
    assert.equal(row.id, `o:${(r.doc._id as ObjectId).toHexString()}`);
    // An Int32 on the wire is stored as the schema's int: a 64-bit Long.
    const stored = BSON.deserialize(row.doc, { promoteValues: false });
    assert.ok(stored.count instanceof Long);
    assert.equal(stored.count.toNumber(), 5);
  });
});
