/**
 * The page side of `npm run bench`, bundled into `bench-page.js` and loaded
 * next to the built `sw-ingest.iife.js` (what ships). Every function times
 * itself with `performance.now()` and returns plain numbers; `bench/run.ts`
 * calls them through `page.evaluate`.
 *
 * All contenders write the same documents (`makeDoc`, ~125 bytes as BSON).
 * Durability is always passed explicitly, except to workbox, which has no
 * setting (Chromium's default, `relaxed`).
 */
import { Dexie } from 'dexie';
import { Binary, BSON, Double, Int32, ObjectId } from 'bson';
import { encodeBatchBody, encodeUpload, PROTOCOL_VERSION } from '../../core/protocol.js';

/** The test fixture's schema (tests/fixtures/schema.json); the server loads the same file. */
export const READING_SCHEMA = [{
  name: 'Reading', asymmetric: true, primaryKey: '_id',
  properties: { _id: 'objectId', deviceId: 'string', seq: 'int', temp: 'double', at: 'date' },
}] as const;

/** 53 characters: with the other fields the document is 125 bytes of BSON. */
const DEVICE_ID = 'bench-device-0123456789abcdef0123456789abcdef01234567'.slice(0, 53);

/** The benchmark's document number `i`. */
export function makeDoc(i: number): { deviceId: string; seq: number; temp: number; at: Date } {
  return { deviceId: DEVICE_ID, seq: i, temp: 15 + ((i * 2654435761) % 100_003) / 7_919, at: new Date() };
}

/** The document as sw-ingest stores it: exact BSON types, `_id` generated. */
function docBson(i: number): Uint8Array {
  const d = makeDoc(i);
  return BSON.serialize({ _id: new ObjectId(), deviceId: d.deviceId, seq: new Int32(d.seq), temp: new Double(d.temp), at: d.at });
}

type Durability = 'strict' | 'relaxed' | 'default';
interface SwClient {
  ingest(type: string, doc: unknown): Promise<void>;
  pending(): Promise<number>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  on(event: string, fn: (d: any) => void): () => void;
}
declare const SwIngest: { open(options: Record<string, unknown>): Promise<SwClient> };

let client: SwClient | undefined;
const needClient = (): SwClient => {
  if (!client) throw new Error('openClient() first');
  return client;
};
const now = (): number => performance.now();
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function idbOpen(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('records', { autoIncrement: true });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
function txDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error);
  });
}
const txOptions = (d: Durability): IDBTransactionOptions | undefined => (d === 'default' ? undefined : { durability: d });

/** Long tasks (> 50 ms) seen since `watchLongTasks()`. */
let longTasks: number[] = [];
let longTaskObserver: PerformanceObserver | undefined;

const bench = {
  /** Opens an sw-ingest client as an app would; `paused` holds uploads back (ingest-only figures). */
  async openClient(options: Record<string, unknown> = {}, paused = false): Promise<void> {
    client = await SwIngest.open({ endpoint: '/api/ingest', serviceWorker: './sw-ingest-sw.js', schema: READING_SCHEMA, ...options });
    if (paused) await client.pause();
  },

  // ── 1. ingest throughput ──────────────────────────────────────────────

  /** `ingest()` in a loop, not awaiting each call (one coalesced write), then all awaited. */
  async swIngestLoop(n: number): Promise<{ ms: number; syncMs: number }> {
    const c = needClient();
    const t0 = now();
    const all: Promise<void>[] = new Array(n);
    for (let i = 0; i < n; i++) all[i] = c.ingest('Reading', makeDoc(i));
    const syncMs = now() - t0;
    await Promise.all(all);
    return { ms: now() - t0, syncMs };
  },

  /** `await ingest()` one record at a time. */
  async swIngestAwaited(n: number): Promise<{ ms: number }> {
    const c = needClient();
    const t0 = now();
    for (let i = 0; i < n; i++) await c.ingest('Reading', makeDoc(i));
    return { ms: now() - t0 };
  },

  /** Raw IndexedDB: every record in one readwrite transaction. */
  async rawOneTx(n: number, durability: Durability): Promise<{ ms: number }> {
    const db = await idbOpen('bench-raw-one');
    const t0 = now();
    const tx = db.transaction('records', 'readwrite', txOptions(durability));
    const store = tx.objectStore('records');
    for (let i = 0; i < n; i++) store.add(makeDoc(i));
    await txDone(tx);
    const ms = now() - t0;
    db.close();
    return { ms };
  },

  /** Raw IndexedDB: one readwrite transaction per record, each awaited. */
  async rawTxPerRecord(n: number, durability: Durability): Promise<{ ms: number }> {
    const db = await idbOpen('bench-raw-each');
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const tx = db.transaction('records', 'readwrite', txOptions(durability));
      tx.objectStore('records').add(makeDoc(i));
      await txDone(tx);
    }
    const ms = now() - t0;
    db.close();
    return { ms };
  },

  /**
   * Raw IndexedDB, one transaction per record with an explicit `commit()`:
   * no round trip between the add and the commit, the fastest a durable
   * transaction per record can be (the floor under `await ingest()` each).
   */
  async rawTxPerRecordCommit(n: number, durability: Durability): Promise<{ ms: number }> {
    const db = await idbOpen('bench-raw-each-commit');
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const tx = db.transaction('records', 'readwrite', txOptions(durability));
      tx.objectStore('records').add(makeDoc(i));
      tx.commit();
      await txDone(tx);
    }
    const ms = now() - t0;
    db.close();
    return { ms };
  },

  /**
   * Not IndexedDB: each record appended to an OPFS file through a dedicated
   * worker's sync access handle and flushed (fsync) before the reply, one
   * awaited round trip per record. What a journal outside IndexedDB could
   * give an awaited `ingest()`; sw-ingest does not do this (docs/benchmarks.md).
   */
  async opfsJournalAwaited(n: number): Promise<{ ms: number }> {
    const worker = new Worker('./opfs-journal-worker.js'); // a file: the server's CSP allows workers from 'self' only
    const reply = (): Promise<void> => new Promise((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<{ ok: boolean; error?: string }>) => (e.data.ok ? resolve() : reject(new Error(`OPFS worker: ${e.data.error}`)));
      worker.onerror = (e) => reject(new Error(`OPFS worker: ${e.message}`));
    });
    let r = reply();
    worker.postMessage('open');
    await r;
    const t0 = now();
    for (let i = 0; i < n; i++) {
      r = reply();
      worker.postMessage(docBson(i));
      await r;
    }
    const ms = now() - t0;
    worker.terminate();
    return { ms };
  },

  /** Dexie's `bulkAdd` of all records. */
  async dexieBulkAdd(n: number, durability: Durability): Promise<{ ms: number }> {
    const db = new Dexie('bench-dexie', durability === 'default' ? {} : { chromeTransactionDurability: durability });
    db.version(1).stores({ records: '++id' });
    await db.open();
    const t0 = now();
    const docs = new Array(n);
    for (let i = 0; i < n; i++) docs[i] = makeDoc(i);
    await db.table('records').bulkAdd(docs);
    const ms = now() - t0;
    db.close();
    return { ms };
  },

  /** Registers the workbox contender's worker and asks it to run `cmd`. */
  async workbox(cmd: { op: 'push' | 'replay'; n?: number }): Promise<{ ms: number; count?: number }> {
    const reg = await navigator.serviceWorker.register('./workbox-sw.js', { scope: './workbox/' });
    const worker = reg.active ?? (await new Promise<ServiceWorker>((resolve) => {
      const w = (reg.installing ?? reg.waiting)!;
      w.addEventListener('statechange', () => w.state === 'activated' && resolve(w));
    }));
    let token: string | undefined;
    if (cmd.op === 'push') {
      const res = await fetch('/api/ingest/auth/anonymous', { method: 'POST' });
      token = ((await res.json()) as { accessToken: string }).accessToken;
    }
    const channel = new MessageChannel();
    const reply = new Promise<{ ms: number; count?: number; error?: string }>((resolve) => { channel.port1.onmessage = (e) => resolve(e.data); });
    worker.postMessage({ ...cmd, token, url: new URL('/api/ingest/batches', location.href).href }, [channel.port2]);
    const r = await reply;
    if (r.error) throw new Error(r.error);
    return r;
  },

  // ── 2. main-thread cost ───────────────────────────────────────────────

  /**
   * Synchronous time of `ingest()` per call, timed over chunks of `chunk`
   * calls (performance.now() is coarsened to 100 µs here); all awaited at the end.
   */
  async ingestSyncCost(n: number, chunk: number): Promise<{ perCallUs: number[] }> {
    const c = needClient();
    const perCallUs: number[] = [];
    const all: Promise<void>[] = [];
    for (let base = 0; base < n; base += chunk) {
      const t0 = now();
      for (let i = base; i < base + chunk; i++) all.push(c.ingest('Reading', makeDoc(i)));
      perCallUs.push(((now() - t0) * 1000) / chunk);
      await tick(); // let the coalesced write start, as an app's next task would
    }
    await Promise.all(all);
    return { perCallUs };
  },

  watchLongTasks(): void {
    longTasks = [];
    longTaskObserver?.disconnect();
    longTaskObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push(e.duration);
    });
    longTaskObserver.observe({ type: 'longtask' });
  },
  takeLongTasks(): number[] {
    for (const e of longTaskObserver?.takeRecords() ?? []) longTasks.push(e.duration);
    const out = longTasks;
    longTasks = [];
    return out;
  },

  /** Queues `n` records as `n / perTask` tasks of `perTask` un-awaited calls; resolves when all are committed. */
  async ingestInTasks(n: number, perTask: number, from = 0): Promise<{ ms: number }> {
    const c = needClient();
    const t0 = now();
    const all: Promise<void>[] = [];
    for (let base = from; base < from + n; base += perTask) {
      for (let i = base; i < Math.min(from + n, base + perTask); i++) all.push(c.ingest('Reading', makeDoc(i)));
      await tick();
    }
    await Promise.all(all);
    return { ms: now() - t0 };
  },

  // ── 3, 5. uploads ────────────────────────────────────────────────────

  /** Queues `n` records (uploads should be paused), `chunk` per coalesced write. */
  async fill(n: number, chunk: number): Promise<{ ms: number; pending: number }> {
    const c = needClient();
    const t0 = now();
    for (let base = 0; base < n; base += chunk) {
      const all: Promise<void>[] = [];
      for (let i = base; i < Math.min(n, base + chunk); i++) all.push(c.ingest('Reading', makeDoc(i)));
      await Promise.all(all);
    }
    return { ms: now() - t0, pending: await c.pending() };
  },

  /**
   * Resumes uploads and resolves when the SW reports the outbox empty, with
   * the page's responsiveness meanwhile: the largest delay of a 20 ms timer,
   * and long tasks.
   */
  async drainTimed(timeoutMs: number): Promise<{ ms: number; uploaded: number; errors: string[]; maxTimerLagMs: number; longTasks: number[] }> {
    const c = needClient();
    const errors: string[] = [];
    let uploaded = 0;
    let maxTimerLagMs = 0;
    let expected = now() + 20;
    const lagTimer = setInterval(() => {
      const t = now();
      maxTimerLagMs = Math.max(maxTimerLagMs, t - expected);
      expected = t + 20;
    }, 20);
    bench.watchLongTasks();
    const t0 = now();
    const done = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`drain not finished after ${timeoutMs} ms (${uploaded} uploaded, errors: ${errors.slice(-3).join('; ')})`)), timeoutMs);
      c.on('uploaded', ({ count, pending }) => {
        uploaded += count;
        if (pending === 0) {
          clearTimeout(timer);
          resolve(now());
        }
      });
      c.on('error', ({ error }) => errors.push(`${error.code}: ${error.message}`));
      c.on('rejected', ({ count, codes }) => errors.push(`rejected ${count}: ${codes.join(',')}`));
    });
    await c.resume();
    try {
      const t1 = await done;
      return { ms: t1 - t0, uploaded, errors, maxTimerLagMs, longTasks: bench.takeLongTasks() };
    } finally {
      clearInterval(lagTimer);
    }
  },

  // ── 6. latency ────────────────────────────────────────────────────────

  /**
   * Ingests `rate` records per second for `seconds` (a tick every 10 ms);
   * resolves when every record is confirmed, with each record's time from
   * `ingest()` to the SW's `uploaded` event (outbox order is upload order).
   */
  async steady(rate: number, seconds: number): Promise<{ sent: number; confirmMs: number[]; actualRate: number }> {
    const c = needClient();
    const perTick = rate / 100;
    const total = rate * seconds;
    const ingestAt: number[] = [];
    const confirmMs: number[] = [];
    let confirmed = 0;
    const allConfirmed = new Promise<void>((resolve) => {
      c.on('uploaded', ({ count }) => {
        const t = now();
        for (let k = 0; k < count; k++, confirmed++) if (ingestAt[confirmed] !== undefined) confirmMs.push(t - ingestAt[confirmed]!);
        if (confirmed >= total) resolve();
      });
    });
    const t0 = now();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        // Catch up to the schedule, so timer jitter does not lower the rate.
        const due = Math.min(total, Math.floor(((now() - t0) / 1000) * rate) + perTick);
        while (sent < due) {
          ingestAt.push(now());
          void c.ingest('Reading', makeDoc(sent++));
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    const actualRate = sent / ((now() - t0) / 1000);
    await Promise.race([allConfirmed, new Promise((r) => setTimeout(r, 60_000))]);
    return { sent, confirmMs, actualRate };
  },

  // ── 4. bytes on the wire ──────────────────────────────────────────────

  /**
   * The upload body of `batch` records as the SW builds it (BSON), gzipped
   * with CompressionStream, and as JSON; with encode and gzip times.
   */
  async wireBytes(batch: number, bodies: number): Promise<Record<string, number>> {
    const gzip = async (bytes: Uint8Array): Promise<number> =>
      (await new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer()).byteLength;
    let bson = 0, bsonGz = 0, json = 0, jsonGz = 0, bsonMs = 0, frameMs = 0, jsonMs = 0, gzipMs = 0;
    for (let b = 0; b < bodies; b++) {
      const docs = Array.from({ length: batch }, (_, i) => docBson(b * batch + i));
      const t = new Date();
      let t0 = now();
      const body = encodeUpload({ v: PROTOCOL_VERSION, client: crypto.randomUUID(), sentAt: new Date(), records: docs.map((d) => ({ c: 'Reading', t, d: new Binary(d) })) });
      bsonMs += now() - t0;
      // What the SW does: the documents are BSON already; it only writes the framing.
      const frames = docs.map((d) => ({ c: 'Reading', t: t.getTime(), d }));
      t0 = now();
      const framed = encodeBatchBody(crypto.randomUUID(), new Date(), frames);
      frameMs += now() - t0;
      if (framed.byteLength !== body.byteLength) throw new Error('encodeBatchBody and encodeUpload disagree on the size');
      const plain = docs.map((d) => ({ c: 'Reading', t, d: BSON.deserialize(d) }));
      t0 = now();
      const jsonText = JSON.stringify({ v: PROTOCOL_VERSION, client: crypto.randomUUID(), sentAt: new Date(), records: plain });
      jsonMs += now() - t0;
      const jsonBytes = new TextEncoder().encode(jsonText);
      t0 = now();
      bsonGz += await gzip(body);
      gzipMs += now() - t0;
      bson += body.byteLength;
      json += jsonBytes.byteLength;
      jsonGz += await gzip(jsonBytes);
    }
    const records = batch * bodies;
    return {
      bson: bson / records, bsonGzip: bsonGz / records, json: json / records, jsonGzip: jsonGz / records,
      bsonEncodeUsPerRecord: (bsonMs * 1000) / records,
      bsonFrameUsPerRecord: (frameMs * 1000) / records,
      jsonEncodeUsPerRecord: (jsonMs * 1000) / records,
      gzipMBps: bson / 1e6 / (gzipMs / 1000),
    };
  },
};

(globalThis as unknown as { bench: typeof bench }).bench = bench;
export type Bench = typeof bench;
