import { BSON, Double, Long, ObjectId } from 'bson';
import { test, expect, openClient, ingestReadings, pending, expectExactlyOnce, FAST_RETRY } from './fixtures.js';

test('logOut() uploads what is queued, then nothing uploads until open() logs in again', async ({ page, server }) => {
  await openClient(page, server.url);
  await ingestReadings(page, 60);
  await page.evaluate(() => (window as any).client.logOut());
  await expectExactlyOnce(server, 60);
  const closed = await page.evaluate(() => (window as any).client.ingest('Reading', {}).catch((e: any) => e.code));
  expect(closed).toBe('closed');

  // A new open() logs in again (a new anonymous user) and uploads.
  await openClient(page, server.url);
  await ingestReadings(page, 40, 60);
  await page.evaluate(() => (window as any).client.flush());
  await expectExactlyOnce(server, 100);
});

test('logOut() with records it cannot upload refuses, or deletes them with discardPending', async ({ page, server }) => {
  await openClient(page, server.url, FAST_RETRY);
  await server.stop();
  await ingestReadings(page, 30);
  const refused = await page.evaluate(() => (window as any).client.logOut({ timeoutMs: 1_000 }).then(() => 'ok', (e: any) => e.code));
  expect(refused).toBe('pending-records');
  expect(await pending(page)).toBe(30); // still logged in, nothing lost

  await page.evaluate(() => (window as any).client.logOut({ timeoutMs: 1_000, discardPending: true }));
  await server.start();
  // Reopen without ingesting: the outbox is empty and the new session uploads nothing of the old user.
  await openClient(page, server.url);
  await page.evaluate(() => (window as any).client.flush());
  expect(await pending(page)).toBe(0);
  expect(await server.count('Reading')).toBe(0);
});

test('a logged-out outbox uploads nothing, even woken by the browser', async ({ page, server }) => {
  await openClient(page, server.url);
  await page.evaluate(() => (window as any).client.logOut());
  // A valid record written by a page that never reopened the client (an old tab): the SW must not send it.
  const valid = Array.from(BSON.serialize({ _id: new ObjectId(), deviceId: 'old tab', seq: Long.fromNumber(0), temp: new Double(1), at: new Date() }));
  await page.evaluate(async (bytes) => {
    const db: IDBDatabase = await new Promise((res, rej) => { const r = indexedDB.open('sw-ingest'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    await new Promise<void>((res) => { const tx = db.transaction('outbox', 'readwrite'); tx.objectStore('outbox').add({ c: 'Reading', t: Date.now(), d: new Uint8Array(bytes) }); tx.oncomplete = () => res(); });
    db.close();
    const reg = await navigator.serviceWorker.getRegistration();
    reg!.active!.postMessage({ type: 'sw-ingest:drain', urgent: true });
  }, valid);
  await page.waitForTimeout(1_500);
  expect(await server.count('Reading')).toBe(0);
  // Logging in again sends it (the record itself was fine).
  await openClient(page, server.url);
  await page.evaluate(() => (window as any).client.flush());
  expect(await server.count('Reading')).toBe(1);
});
