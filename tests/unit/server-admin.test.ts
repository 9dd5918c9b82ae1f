import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { Double, Long, ObjectId } from 'bson';
import {
  adminGet, encodeTestUpload, loginAnonymously, postBatch, forEachSink, startTestServer, type TestServer, type TestRecord,
} from '../helpers/server-inject.js';

async function upload(server: TestServer, records: TestRecord[]): Promise<void> {
  const { accessToken } = await loginAnonymously(server.app);
  const res = await postBatch(server.app, accessToken, encodeTestUpload(records));
  assert.ok((res.json().results as { s: string }[]).every((r) => r.s === 'stored'), res.body);
}

forEachSink('admin routes', (sink) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('refuses a missing key, a wrong key and user tokens', async () => {
    server = await startTestServer({ sink });
    const session = await loginAnonymously(server.app);
    for (const url of ['/api/admin/collections/Reading/count', '/api/admin/collections/Reading/export']) {
      for (const auth of [null, 'wrong', session.accessToken, session.refreshToken, `${server.adminKey}x`]) {
        const res = await adminGet(server, url, auth);
        assert.equal(res.statusCode, 401, `${url} with ${auth}`);
        assert.equal(res.json().error.code, 'unauthorized');
        assert.equal(res.headers['www-authenticate'], 'Bearer');
      }
    }
    assert.deepEqual((await adminGet(server, '/api/admin/collections/Reading/count')).json(), { count: 0 });
  });

  it('counts a collection and answers 404 for names that are not asymmetric types', async () => {
    server = await startTestServer({ sink });
    await upload(server, [
      { c: 'Event', doc: { _id: 'a', kind: 'x' } },
      { c: 'Event', doc: { _id: 'b', kind: 'y' } },
    ]);
    assert.deepEqual((await adminGet(server, '/api/admin/collections/Event/count')).json(), { count: 2 });
    for (const name of ['Nope', 'Point']) {
      for (const what of ['count', 'export']) {
        const res = await adminGet(server, `/api/admin/collections/${name}/${what}`);
        assert.equal(res.statusCode, 404);
        assert.equal(res.json().error.code, 'not-found');
      }
    }
  });

  it('exports relaxed Extended JSON: $oid, $date, exact integer digits, and doubles always with a fraction or exponent', async () => {
    server = await startTestServer({ sink });
    const id = new ObjectId();
    const at = new Date('2024-05-06T07:08:09.123Z');
    await upload(server, [{
      c: 'Reading',
      doc: { _id: id, sensor: 's1', value: new Double(2.5), count: Long.fromNumber(7), at, point: { x: new Double(1), y: new Double(-2) } },
    }]);
    const res = await adminGet(server, '/api/admin/collections/Reading/export');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
    const lines = res.body.split('\n');
    assert.equal(lines.length, 2);
    assert.equal(lines[1], '');
    assert.equal(
      lines[0],
      `{"_id":{"$oid":"${id.toHexString()}"},"sensor":"s1","value":2.5,"count":7,"at":{"$date":"2024-05-06T07:08:09.123Z"},"point":{"x":1.0,"y":-2.0}}`,
    );
  });

  it('exports canonical Extended JSON with ?format=canonical', async () => {
    server = await startTestServer({ sink });
    const id = new ObjectId();
    await upload(server, [{ c: 'Reading', doc: { _id: id, sensor: 's1', value: new Double(2), count: Long.fromNumber(7) } }]);
    const res = await adminGet(server, '/api/admin/collections/Reading/export?format=canonical');
    assert.equal(
      res.body,
      `{"_id":{"$oid":"${id.toHexString()}"},"sensor":"s1","value":{"$numberDouble":"2.0"},"count":{"$numberLong":"7"}}\n`,
    );
    const bad = await adminGet(server, '/api/admin/collections/Reading/export?format=xml');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'bad-request');
  });

  it('exports metadata apart from the document with ?meta=true: owner, client, device and server times, clock skew', async () => {
    server = await startTestServer({ sink });
    const session = await loginAnonymously(server.app);
    const id = new ObjectId();
    const ingestedAt = new Date('2024-05-06T07:00:00.123Z');
    const sentAt = new Date(Date.now() - 3_600_000); // a device clock one hour behind
    const before = Date.now();
    const res = await postBatch(server.app, session.accessToken, encodeTestUpload(
      [{ c: 'Reading', t: ingestedAt, doc: { _id: id, sensor: 's1', value: new Double(2.5) } }],
      { client: 'outbox-42', sentAt },
    ));
    assert.deepEqual(res.json().results, [{ s: 'stored' }]);
    const after = Date.now();

    const relaxed = await adminGet(server, '/api/admin/collections/Reading/export?meta=true');
    assert.equal(relaxed.statusCode, 200);
    const lines = relaxed.body.split('\n');
    assert.equal(lines.length, 2);
    const line = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(line), ['meta', 'doc']);
    assert.deepEqual(line.doc, { _id: { $oid: id.toHexString() }, sensor: 's1', value: 2.5 });
    assert.deepEqual(Object.keys(line.meta), ['owner', 'clientId', 'ingestedAt', 'sentAt', 'receivedAt', 'clockSkewMs']);
    assert.equal(line.meta.owner, session.userId);
    assert.equal(line.meta.clientId, 'outbox-42');
    assert.deepEqual(line.meta.ingestedAt, { $date: '2024-05-06T07:00:00.123Z' });
    assert.equal(Date.parse(line.meta.sentAt.$date), sentAt.getTime()); // bson drops ".000"
    const receivedAt = Date.parse(line.meta.receivedAt.$date);
    assert.ok(receivedAt >= before && receivedAt <= after, `receivedAt ${line.meta.receivedAt.$date}`);
    assert.equal(line.meta.clockSkewMs, receivedAt - sentAt.getTime());

    const canonical = JSON.parse((await adminGet(server, '/api/admin/collections/Reading/export?meta=true&format=canonical')).body);
    assert.deepEqual(canonical.meta.ingestedAt, { $date: { $numberLong: String(ingestedAt.getTime()) } });
    assert.deepEqual(canonical.meta.clockSkewMs, { $numberLong: String(receivedAt - sentAt.getTime()) });
    assert.deepEqual(canonical.doc.value, { $numberDouble: '2.5' });

    const bad = await adminGet(server, '/api/admin/collections/Reading/export?meta=yes');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'bad-request');
    const off = await adminGet(server, '/api/admin/collections/Reading/export?meta=false');
    assert.equal(off.body, (await adminGet(server, '/api/admin/collections/Reading/export')).body);
    assert.deepEqual(Object.keys(JSON.parse(off.body)), ['_id', 'sensor', 'value']);
  });

  it('exports every document once, ordered by _id, across export pages', async () => {
    server = await startTestServer({ sink });
    const ids = Array.from({ length: 2500 }, (_, i) => `e${String(i).padStart(5, '0')}`);
    for (let i = 0; i < ids.length; i += 1000) {
      await upload(server, ids.slice(i, i + 1000).reverse().map((id) => ({ c: 'Event', doc: { _id: id, kind: 'k' } })));
    }
    const res = await adminGet(server, '/api/admin/collections/Event/export');
    const exported = res.body.trimEnd().split('\n').map((l) => (JSON.parse(l) as { _id: string })._id);
    assert.deepEqual(exported, ids);
  });

  it('shows the demo summary only with demo: true', async () => {
    server = await startTestServer({ sink, demo: true });
    await upload(server, [
      { c: 'Event', doc: { _id: 'a', kind: 'x' } },
      { c: 'Reading', doc: { _id: new ObjectId(), sensor: 's', value: new Double(1), count: Long.fromNumber(3) } },
    ]);
    const res = await server.app.inject({ method: 'GET', url: '/api/demo/summary' });
    assert.equal(res.statusCode, 200);
    const summary = res.json();
    assert.deepEqual(summary.collections, { Reading: 1, Event: 1 });
    assert.equal(summary.recent.length, 2);
    const r = summary.recent.find((x: { collection: string }) => x.collection === 'Reading');
    assert.equal(r.doc.count, 3);
    assert.equal(typeof r.doc._id.$oid, 'string');
    await server.close();
    server = undefined;

    server = await startTestServer({ sink });
    assert.equal((await server.app.inject({ method: 'GET', url: '/api/demo/summary' })).statusCode, 404);
  });
});
