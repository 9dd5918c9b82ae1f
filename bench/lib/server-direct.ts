/**
 * The server's own limits, with no browser: upload bodies built in Node and
 * POSTed straight to a running server (HTTP, auth, validation, insert), and
 * the store's `insertBatch` called in-process (the database alone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Binary, BSON, Double, Int32, ObjectId } from 'bson';
import { encodeUpload, PROTOCOL_VERSION } from '../../core/protocol.js';
import { SqliteStore } from '../../server/sqlite-store.js';
import type { StoredRow } from '../../server/store.js';

const DEVICE_ID = 'bench-device-0123456789abcdef0123456789abcdef01234567'.slice(0, 53);

function docBson(i: number): Uint8Array {
  return BSON.serialize({ _id: new ObjectId(), deviceId: DEVICE_ID, seq: new Int32(i), temp: new Double(15 + ((i * 2654435761) % 100_003) / 7_919), at: new Date() });
}

/** Upload bodies of `batch` records each, `total` records in all, as the SW builds them. */
export function buildBodies(total: number, batch: number): Uint8Array<ArrayBuffer>[] {
  const bodies: Uint8Array<ArrayBuffer>[] = [];
  for (let base = 0; base < total; base += batch) {
    const t = new Date();
    const records = Array.from({ length: Math.min(batch, total - base) }, (_, i) => ({ c: 'Reading', t, d: new Binary(docBson(base + i)) }));
    bodies.push(encodeUpload({ v: PROTOCOL_VERSION, client: 'bench-direct', sentAt: new Date(), records }));
  }
  return bodies;
}

/** POSTs `bodies` to `origin` with `concurrency` requests in flight; resolves with the elapsed ms. */
export async function postBodies(origin: string, bodies: readonly Uint8Array<ArrayBuffer>[], concurrency: number): Promise<number> {
  const login = await fetch(`${origin}/api/ingest/auth/anonymous`, { method: 'POST' });
  const { accessToken } = (await login.json()) as { accessToken: string };
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await fetch(`${origin}/api/ingest/batches`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/bson', Authorization: `Bearer ${accessToken}` },
        body,
      });
      const reply = (await res.json()) as { results?: { s: string }[] };
      if (!res.ok || reply.results?.some((r) => r.s !== 'stored')) throw new Error(`direct upload: HTTP ${res.status} ${JSON.stringify(reply).slice(0, 200)}`);
    }
  }));
  return performance.now() - t0;
}

/** `SqliteStore.insertBatch` on a new file, `batch` rows per call; resolves with the elapsed ms. */
export async function sqliteInsertMs(total: number, batch: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-bench-store-'));
  const store = new SqliteStore(join(dir, 'ingest.db'));
  try {
    const now = Date.now();
    const rows: StoredRow[] = Array.from({ length: total }, (_, i) => ({
      collection: 'Reading', id: `o:${new ObjectId().toHexString()}`, doc: docBson(i),
      owner: 'bench', clientId: 'bench-direct', ingestedAt: now, sentAt: now, receivedAt: now,
    }));
    const t0 = performance.now();
    for (let base = 0; base < total; base += batch) await store.insertBatch(rows.slice(base, base + batch));
    return performance.now() - t0;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
