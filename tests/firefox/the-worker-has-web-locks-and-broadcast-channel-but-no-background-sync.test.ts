// The platform facts the path without Background Sync relies on, checked in
// Firefox's service worker itself: Web Locks (one uploader across tabs; the
// page sees the worker's lock with navigator.locks.query()) and
// BroadcastChannel (events to every page) exist; SyncManager does not.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firefoxTest, openClient } from './helpers/firefox.js';

/** A worker at scope /probe/ that reports what its global has and holds a lock while asked to. */
const PROBE_SW = `
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => {
  const port = e.ports[0];
  if (e.data === 'facts') {
    port.postMessage({
      locks: typeof navigator.locks?.request === 'function',
      broadcastChannel: typeof BroadcastChannel === 'function',
      syncManager: typeof self.SyncManager !== 'undefined',
      registrationSync: 'sync' in self.registration,
    });
  } else if (e.data === 'hold') {
    e.waitUntil(navigator.locks.request('probe-lock', () => {
      port.postMessage('held');
      return new Promise((r) => setTimeout(r, 3000));
    }));
  }
});`;

firefoxTest('the worker has Web Locks and BroadcastChannel but no Background Sync', async ({ server, newPage }) => {
  writeFileSync(join(server.siteDir, 'probe-sw.js'), PROBE_SW);
  const page = await newPage();
  await openClient(page, server.url);

  const ask = (message: string): Promise<unknown> => page.evaluate(async (m) => {
    const reg = await navigator.serviceWorker.register('/probe-sw.js', { scope: '/probe/' });
    const worker = reg.active ?? (await new Promise<ServiceWorker>((resolve) => {
      const w = (reg.installing ?? reg.waiting)!;
      w.addEventListener('statechange', () => { if (w.state === 'activated') resolve(w); });
    }));
    const channel = new MessageChannel();
    const reply = new Promise((resolve) => { channel.port1.onmessage = (e) => resolve(e.data); });
    worker.postMessage(m, [channel.port2]);
    return reply;
  }, message);

  assert.deepEqual(await ask('facts'), { locks: true, broadcastChannel: true, syncManager: false, registrationSync: false });
  assert.deepEqual(
    await page.evaluate(() => ({ syncManager: 'SyncManager' in window, registrationSync: 'sync' in (window as any).client.registration })),
    { syncManager: false, registrationSync: false },
  );

  // A lock the worker holds is visible to the page: how the suite tells a running drain from a finished one.
  assert.equal(await ask('hold'), 'held');
  const held = await page.evaluate(async () => (await navigator.locks.query()).held?.map((l) => l.name) ?? []);
  assert.ok(held.includes('probe-lock'), `page sees the worker's lock (held: ${JSON.stringify(held)})`);
});
