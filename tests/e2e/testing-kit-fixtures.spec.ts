// The testing kit's Playwright fixtures as a team uses them (imported from
// sw-ingest-server/testing, as built): an ingestServer with the sample
// app's schema and site, and the ingest controls bound to the page.
import { copyFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect } from 'sw-ingest-server/testing';
import { ROOT } from '../helpers/server.js';

// The sample app's site with the built browser files, as its install copies them.
const site = mkdtempSync(join(tmpdir(), 'sw-ingest-kit-site-'));
cpSync(join(ROOT, 'tests/sample-app/site'), site, { recursive: true });
for (const f of ['sw-ingest.iife.js', 'sw-ingest-sw.js']) copyFileSync(join(ROOT, 'dist', f), join(site, f));
test.afterAll(() => rmSync(site, { recursive: true, force: true }));

test.use({ ingestServerOptions: { schema: join(ROOT, 'tests/sample-app/schema.json'), static: site } });

// The kit always runs SQLite; once per run is enough.
test.beforeEach(() => test.skip(test.info().project.metadata?.sink === 'postgres', 'the kit runs its own SQLite server'));

async function saveNotes(page: Page, texts: string[]): Promise<void> {
  for (const text of texts) {
    await page.getByLabel('Note').fill(text);
    await page.getByRole('button', { name: 'Save' }).click();
  }
  await expect(page.locator('#status')).toHaveText(`saved ${texts.length}`);
}

test('notes saved offline arrive once after the tab closed, by the ingest fixture\'s fireSync: 25 of 25', async ({ page, ingestServer, ingest }) => {
  await page.goto(ingestServer.url);
  await expect(page.locator('#status')).toHaveText('ready');
  await ingest.goOffline();
  const texts = Array.from({ length: 25 }, (_, i) => `note ${i}`);
  await saveNotes(page, texts);
  await page.close();
  await ingest.goOnline();
  await ingest.fireSync(); // through a blank page, for the origin the closed tab was on
  await ingestServer.waitForCount('Note', 25);
  const notes = await ingestServer.exportDocs('Note');
  expect(new Set(notes.map((n) => n._id.toHexString())).size).toBe(25);
  expect(notes.map((n) => n.text).sort()).toEqual([...texts].sort());
  expect(notes.every((n) => n.at instanceof Date)).toBe(true);
});

test('the ingest fixture waits for the empty outbox while the page stays open: 5 of 5', async ({ page, ingestServer, ingest }) => {
  await page.goto(ingestServer.url);
  await expect(page.locator('#status')).toHaveText('ready');
  await saveNotes(page, ['a', 'b', 'c', 'd', 'e']);
  await ingest.waitForEmptyOutbox();
  expect(await ingestServer.count('Note')).toBe(5);
});
