/**
 * Schema drift is caught before records are lost to it. Every session
 * answer carries the server's schema fingerprint per type; `open()`
 * compares it with the page's and emits `schema-mismatch` naming the types
 * that differ. Records are still queued and judged by the server, and
 * `flush()` resolves with what it settled, so a caller sees at once that
 * the server refused records.
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { ROOT, TestServer } from '../helpers/server.js';
import { test, expect } from './fixtures.js';

/** The page's schema: Reading with `temp`, and Note (properties in another order than the server's files). */
const PAGE_SCHEMA = [
  { name: 'Reading', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', deviceId: 'string', seq: 'int', temp: 'double', at: 'date' } },
  { name: 'Note', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', text: 'string' } },
];

/** Opens a client with {@link PAGE_SCHEMA}, listening for `schema-mismatch` only after open() resolved, as an app would. */
async function openAndListen(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.evaluate(async (schema) => {
    const w = window as any;
    w.client = await w.SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema });
    w.mismatches = [];
    w.client.on('schema-mismatch', ({ types }: { types: string[] }) => w.mismatches.push(types));
  }, PAGE_SCHEMA);
}

/** Ingests 5 readings and 3 notes, then flushes; resolves with flush()'s result. */
function ingestAndFlush(page: Page): Promise<{ uploaded: number; rejected: number }> {
  return page.evaluate(async () => {
    const { client } = window as any;
    const writes = [];
    for (let i = 0; i < 5; i++) writes.push(client.ingest('Reading', { deviceId: 'd1', seq: i, temp: 20.5, at: new Date() }));
    for (let i = 0; i < 3; i++) writes.push(client.ingest('Note', { text: `note ${i}` }));
    await Promise.all(writes);
    return client.flush();
  });
}

test('a server whose Reading lacks a field: schema-mismatch names Reading, flush() resolves {uploaded: 3, rejected: 5}, 5 dead letters', async ({ page }) => {
  const server = await new TestServer({ schemaFile: join(ROOT, 'tests/fixtures/schema-drifted.json') }).start();
  try {
    const warnings: string[] = [];
    page.on('console', (m) => { if (m.type() === 'warning' && m.text().includes("server's schema differs")) warnings.push(m.text()); });
    await openAndListen(page, server);
    await expect.poll(() => page.evaluate(() => (window as any).mismatches)).toEqual([['Reading']]);

    expect(await ingestAndFlush(page)).toEqual({ uploaded: 3, rejected: 5 });
    const rejected = await page.evaluate(async () => ((await (window as any).client.rejected()) as Array<{ type: string; code: string }>)
      .map((r) => `${r.type}:${r.code}`));
    expect(rejected).toEqual(Array(5).fill('Reading:unknown-field'));
    expect(await server.count('Note')).toBe(3);
    expect(await server.count('Reading')).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(await page.evaluate(() => (window as any).mismatches)).toEqual([['Reading']]); // once
  } finally {
    await server.dispose();
  }
});

test('the same schema on both sides (property order aside): no schema-mismatch, flush() resolves {uploaded: 8, rejected: 0}', async ({ page }) => {
  const server = await new TestServer({ schemaFile: join(ROOT, 'tests/fixtures/schema-two-types.json') }).start();
  try {
    await openAndListen(page, server);
    expect(await ingestAndFlush(page)).toEqual({ uploaded: 8, rejected: 0 });
    expect(await page.evaluate(() => (window as any).mismatches)).toEqual([]);
    expect(await server.count('Reading')).toBe(5);
    expect(await server.count('Note')).toBe(3);
  } finally {
    await server.dispose();
  }
});

test('a second visit with a stored session checks the fingerprints the session carried: schema-mismatch again, 0 records lost', async ({ page }) => {
  const server = await new TestServer({ schemaFile: join(ROOT, 'tests/fixtures/schema-drifted.json') }).start();
  try {
    await openAndListen(page, server);
    await expect.poll(() => page.evaluate(() => (window as any).mismatches)).toEqual([['Reading']]);
    await openAndListen(page, server); // reload: the outbox already has a session, open() does not log in
    await expect.poll(() => page.evaluate(() => (window as any).mismatches)).toEqual([['Reading']]);
    expect(await ingestAndFlush(page)).toEqual({ uploaded: 3, rejected: 5 });
    expect(await page.evaluate(async () => (await (window as any).client.pending()) as number)).toBe(0);
  } finally {
    await server.dispose();
  }
});
