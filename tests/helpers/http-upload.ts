/**
 * Uploads over real HTTP to a server process (tests/helpers/server.ts), as
 * the service worker sends them: readings of `tests/fixtures/schema.json`
 * framed with `encodeUpload`. A reading's `_id` is derived from its `seq`,
 * so the same seq is the same record however often it is sent.
 */
import http from 'node:http';
import { BSON, Binary, Double, Long, ObjectId } from 'bson';
import { encodeUpload, PROTOCOL_VERSION, type RecordResult, type Session } from '../../core/protocol.js';

/** The `_id` of reading `seq`. */
export function readingId(seq: number): ObjectId {
  return ObjectId.createFromHexString(seq.toString(16).padStart(24, '0'));
}

/**
 * The BSON body of one upload holding the readings `seqs`.
 *
 * @param seqs - which readings
 * @param client - the outbox id
 */
export function readingUpload(seqs: readonly number[], client = 'http-test'): Buffer {
  return Buffer.from(encodeUpload({
    v: PROTOCOL_VERSION,
    client,
    sentAt: new Date(),
    records: seqs.map((seq) => ({
      c: 'Reading',
      t: new Date(),
      d: new Binary(BSON.serialize({
        _id: readingId(seq), deviceId: `device-${seq % 7}`, seq: Long.fromNumber(seq), temp: new Double(20 + (seq % 10) / 10), at: new Date(),
      })),
    })),
  }));
}

/** `[from, from+1, …, from+count-1]`. */
export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** Logs in anonymously at `baseUrl`. */
export async function login(baseUrl: string): Promise<Session> {
  const res = await fetch(`${baseUrl}/api/ingest/auth/anonymous`, { method: 'POST' });
  if (res.status !== 200) throw new Error(`login at ${baseUrl}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Session;
}

/** What an upload got: a status and its per-record results, or a network error. */
export type UploadOutcome = { status: number; results?: RecordResult[]; body: string } | { error: Error };

/** POSTs `body` to `baseUrl`'s batches route; never throws. */
export async function upload(baseUrl: string, accessToken: string, body: Buffer): Promise<UploadOutcome> {
  try {
    const res = await fetch(`${baseUrl}/api/ingest/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/bson', authorization: `Bearer ${accessToken}` },
      body: new Uint8Array(body),
    });
    const text = await res.text();
    const results = res.status === 200 ? (JSON.parse(text) as { results: RecordResult[] }).results : undefined;
    return results === undefined ? { status: res.status, body: text } : { status: res.status, results, body: text };
  } catch (err) {
    return { error: err as Error };
  }
}

/**
 * Starts an upload whose body is sent in `pieces` chunks `gapMs` apart, so
 * that it is still in flight for `pieces × gapMs`. Resolves with the status
 * and body; `sent` resolves once the first chunk is on the wire.
 */
export function slowUpload(
  baseUrl: string, accessToken: string, body: Buffer, options: { pieces: number; gapMs: number },
): { sent: Promise<void>; done: Promise<{ status: number; body: string }> } {
  const url = new URL(`${baseUrl}/api/ingest/batches`);
  let markSent!: () => void;
  const sent = new Promise<void>((r) => { markSent = r; });
  const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { 'content-type': 'application/bson', 'content-length': body.length, authorization: `Bearer ${accessToken}` },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const size = Math.ceil(body.length / options.pieces);
    let offset = 0;
    const next = (): void => {
      req.write(body.subarray(offset, offset + size));
      offset += size;
      if (offset === size) markSent();
      if (offset >= body.length) req.end();
      else setTimeout(next, options.gapMs);
    };
    next();
  });
  return { sent, done };
}
