import { test, expect } from 'sw-ingest-server/testing';

test.use({
  ingestServerOptions: {
    schema: new URL('../schema.json', import.meta.url),
    static: new URL('../site', import.meta.url),
  },
});

test('notes saved offline arrive exactly once after the tab has closed', async ({ page, ingestServer, ingest }) => {
  await page.goto(ingestServer.url);
  await expect(page.locator('#status')).toHaveText('ready');

  await ingest.goOffline();
  for (let i = 1; i <= 10; i++) {
    await page.getByLabel('Note').fill(`note ${i}`);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('#status')).toHaveText(`saved ${i}`); // in IndexedDB now
  }
  await page.close();
  expect(await ingestServer.count('Note')).toBe(0);

  await ingest.goOnline(); // Chromium fires the pending sync with no tab open…
  await ingest.fireSync(); // …and this fires it now, as Chromium's retry would
  await ingestServer.waitForCount('Note', 10);

  const notes = await ingestServer.exportDocs('Note');
  expect(new Set(notes.map((note) => note._id.toHexString())).size).toBe(10);
  expect(notes.map((note) => note.text).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `note ${i + 1}`).sort());
});

test('notes saved while the service worker is stopped arrive once it starts again', async ({ page, ingestServer, ingest }) => {
  await page.goto(ingestServer.url);
  await expect(page.locator('#status')).toHaveText('ready');

  await ingest.stopServiceWorker(); // as the browser stops an idle worker
  for (const text of ['one', 'two', 'three']) {
    await page.getByLabel('Note').fill(text);
    await page.getByRole('button', { name: 'Save' }).click();
  }
  await expect(page.locator('#status')).toHaveText('saved 3');

  await ingest.waitForEmptyOutbox();
  expect(await ingestServer.count('Note')).toBe(3);
  const notes = await ingestServer.exportDocs('Note');
  expect(notes.map((note) => note.text).sort()).toEqual(['one', 'three', 'two']);
});
