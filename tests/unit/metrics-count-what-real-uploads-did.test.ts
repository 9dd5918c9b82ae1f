// GET /metrics (Prometheus text, behind the admin key) against what real
// uploads did over HTTP: records stored, re-sent as duplicates and
// rejected, by collection; uploads by status; records per upload; commits;
// refused credentials by reason; and prom-client's process defaults. And
// one log line per upload, with ids and counts only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, it } from 'node:test';
import { BSON, Binary, Double, Long } from 'bson';
import type { FastifyInstance } from 'fastify';
import { createIngestServer } from 'sw-ingest-server';
import { encodeUpload, PROTOCOL_VERSION } from '../../core/protocol.js';
import { login, range, readingId, readingUpload, upload } from '../helpers/http-upload.js';

const SCHEMA_FILE = path.resolve(import.meta.dirname, '../fixtures/schema.json');
const ADMIN_KEY = 'metrics-admin-key-0123456789';

/** The value of one sample line `name{labels} value`, or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** An upload of `good` valid readings and `bad` readings with a string where `temp` is a double. */
function mixedUpload(good: number[], bad: number[]): Buffer {
  const doc = (seq: number, temp: unknown) => new Binary(BSON.serialize({ _id: readingId(seq), deviceId: 'd', seq: Long.fromNumber(seq), temp, at: new Date() }));
  return Buffer.from(encodeUpload({
    v: PROTOCOL_VERSION, client: 'metrics-test', sentAt: new Date(),
    records: [...good.map((s) => ({ c: 'Reading', t: new Date(), d: doc(s, new Double(20.5)) })), ...bad.map((s) => ({ c: 'Reading', t: new Date(), d: doc(s, 'warm') }))],
  }));
}

let app: FastifyInstance;
let url: string;
let dir: string;
const logLines: string[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-ingest-metrics-'));
  const stream = new Writable({ write(chunk, _enc, done) { logLines.push(...String(chunk).split('\n').filter(Boolean)); done(); } });
  app = await createIngestServer({
    schema: SCHEMA_FILE, db: `sqlite:${path.join(dir, 'ingest.db')}`, adminKey: ADMIN_KEY, rateLimits: false,
    logger: { level: 'info', stream },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('counts 300 stored, 100 duplicate and 20 rejected records of 3 uploads, 2 refused tokens and 1 refused admin key', async () => {
  const { accessToken } = await login(url);
  const first = await upload(url, accessToken, readingUpload(range(0, 200)));
  assert.ok('results' in first && first.status === 200);
  const second = await upload(url, accessToken, mixedUpload(range(200, 100), range(300, 20)));
  assert.ok('results' in second && second.results!.filter((r) => r.s === 'rejected').length === 20);
  const third = await upload(url, accessToken, readingUpload(range(100, 100))); // a re-send: duplicates
  assert.ok('results' in third && third.results!.every((r) => r.s === 'duplicate'));
  const refused = await upload(url, 'not-a-token', readingUpload([1]));
  assert.ok('status' in refused && refused.status === 401);
  assert.equal((await fetch(`${url}/api/ingest/batches`, { method: 'POST' })).status, 401); // no Authorization at all
  assert.equal((await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${accessToken}` } })).status, 401); // a user token is no admin key

  const res = await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.equal(sample(text, 'sw_ingest_records_total', '{collection="Reading",result="stored"}'), 300);
  assert.equal(sample(text, 'sw_ingest_records_total', '{collection="Reading",result="duplicate"}'), 100);
  assert.equal(sample(text, 'sw_ingest_records_total', '{collection="Reading",result="rejected"}'), 20);
  assert.equal(sample(text, 'sw_ingest_upload_duration_seconds_count', '{status="200"}'), 3);
  assert.equal(sample(text, 'sw_ingest_upload_duration_seconds_count', '{status="401"}'), 2);
  assert.equal(sample(text, 'sw_ingest_upload_records_count'), 3);
  assert.equal(sample(text, 'sw_ingest_upload_records_sum'), 200 + 120 + 100);
  assert.equal(sample(text, 'sw_ingest_db_commit_duration_seconds_count'), 3);
  assert.equal(sample(text, 'sw_ingest_auth_failures_total', '{reason="invalid-access-token"}'), 1);
  assert.equal(sample(text, 'sw_ingest_auth_failures_total', '{reason="missing-credentials"}'), 1);
  assert.equal(sample(text, 'sw_ingest_auth_failures_total', '{reason="invalid-admin-key"}'), 1);
  assert.ok((sample(text, 'process_cpu_user_seconds_total') ?? -1) >= 0, 'process defaults are collected');
  assert.match(text, /^nodejs_heap_size_used_bytes \d+/m);

  // One log line per stored upload: the user, the client, counts by collection; never a token.
  const uploads = logLines.map((l) => JSON.parse(l) as { msg?: string; upload?: { user: string; client: string; records: number; collections: Record<string, Record<string, number>> }; reqId?: string })
    .filter((l) => l.msg === 'upload stored');
  assert.equal(uploads.length, 3);
  assert.deepEqual(uploads.map((u) => u.upload!.collections.Reading), [
    { stored: 200, duplicate: 0, rejected: 0 }, { stored: 100, duplicate: 0, rejected: 20 }, { stored: 0, duplicate: 100, rejected: 0 },
  ]);
  assert.ok(uploads.every((u) => typeof u.reqId === 'string' && ['metrics-test', 'http-test'].includes(u.upload!.client)));
  assert.ok(!logLines.some((l) => l.includes(accessToken)), 'no access token in the log');
});
