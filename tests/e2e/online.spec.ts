import { test, expect, openClient, ingestReadings, pending, expectArrived, expectExactlyOnce } from './fixtures.js';

test('ingested records reach the database and the outbox empties', async ({ page, server }) => {
  await openClient(page, server.url);
  await ingestReadings(page, 250);
  await expectArrived(server, 250);
  await expect.poll(() => pending(page)).toBe(0);

  // flush() resolves only once the outbox is empty.
  await ingestReadings(page, 150, 250);
  await page.evaluate(() => (window as any).client.flush());
  expect(await pending(page)).toBe(0);
  await expectExactlyOnce(server, 400);
});

test('values arrive with their schema types', async ({ page, server }) => {
  await openClient(page, server.url);
  await page.evaluate(() =>
    (window as any).client.ingest('Reading', { deviceId: 'd7', seq: 2 ** 40, temp: 21, at: new Date('1969-07-20T20:17:40.123Z') }),
  );
  await page.evaluate(() => (window as any).client.flush());
  const [doc] = await server.exportDocs('Reading');
  expect(doc!._id._bsontype).toBe('ObjectId');
  expect(doc!.deviceId).toBe('d7');
  expect(doc!.seq._bsontype).toBe('Long'); // int is 64-bit
  expect(doc!.seq.toString()).toBe(String(2 ** 40));
  expect(doc!.temp._bsontype).toBe('Double'); // 21 stays a double, not an int
  expect(doc!.at.toISOString()).toBe('1969-07-20T20:17:40.123Z');
});

test('with the sync fallback forced, records go out by message to the service worker', async ({ page, server }) => {
  await openClient(page, server.url, { forceSyncFallback: true });
  await page.evaluate(() => {
    // Any Background Sync registration from here on is a failure of the fallback.
    (window as any).client.registration.sync.register = () => Promise.reject(new Error('sync used despite forceSyncFallback'));
  });
  await ingestReadings(page, 120);
  await expectArrived(server, 120);
  await expect.poll(() => pending(page)).toBe(0);
  await expectExactlyOnce(server, 120);
});
