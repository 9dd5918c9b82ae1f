/**
 * The workbox-background-sync contender, as a service worker (workbox's
 * `Queue` needs one). One request per record, as workbox queues them: a
 * `POST /api/ingest/batches` whose body is a one-record upload, so the
 * server does the same work per record as for sw-ingest's batches.
 *
 * Messages (reply on the transferred port): `{op: 'push', n, url, token}`
 * times `n` awaited `pushRequest()` calls; `{op: 'replay'}` times
 * `replayRequests()` of everything queued.
 */
import { Binary, BSON, Double, Int32, ObjectId } from 'bson';
import { Queue } from 'workbox-background-sync';
import { encodeUpload, PROTOCOL_VERSION } from '../../core/protocol.js';

/** What this worker uses of its global scope (bench/ is type-checked with DOM types, not WebWorker's). */
interface ExtendableMessageEvent { data: unknown; ports: readonly MessagePort[]; waitUntil(p: Promise<unknown>): void }
declare const self: {
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate' | 'message', listener: (event: ExtendableMessageEvent) => void): void;
};

// A no-op onSync: pushRequest() registers a sync, which fires at once when
// online; the benchmark replays explicitly so pushes and replays are timed apart.
const queue = new Queue('bench', { onSync: async () => {} });

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

const DEVICE_ID = 'bench-device-0123456789abcdef0123456789abcdef01234567'.slice(0, 53);

function request(i: number, url: string, token: string): Request {
  const doc = BSON.serialize({ _id: new ObjectId(), deviceId: DEVICE_ID, seq: new Int32(i), temp: new Double(15 + ((i * 2654435761) % 100_003) / 7_919), at: new Date() });
  const body = encodeUpload({ v: PROTOCOL_VERSION, client: 'workbox-bench', sentAt: new Date(), records: [{ c: 'Reading', t: new Date(), d: new Binary(doc) }] });
  return new Request(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/bson', Authorization: `Bearer ${token}` },
    body,
  });
}

async function count(): Promise<number> {
  return (await queue.size());
}

self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const { op, n, url, token } = event.data as { op: 'push' | 'replay'; n: number; url: string; token: string };
  const port = event.ports[0]!;
  const run = async (): Promise<{ ms: number; count?: number }> => {
    const t0 = performance.now();
    if (op === 'push') {
      for (let i = 0; i < n; i++) await queue.pushRequest({ request: request(i, url, token) });
      return { ms: performance.now() - t0, count: await count() };
    }
    await queue.replayRequests();
    return { ms: performance.now() - t0, count: await count() };
  };
  event.waitUntil(run().then((r) => port.postMessage(r), (e: unknown) => port.postMessage({ error: String(e) })));
});
