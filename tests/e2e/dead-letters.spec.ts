import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestServer } from '../helpers/server.js';
import { test, expect, openClient, ingestReadings, pending } from './fixtures.js';

const reading = (extra: Record<string, string>) => [{
  name: 'Reading', asymmetric: true, primaryKey: '_id',
  properties: { _id: 'objectId', deviceId: 'string', seq: 'int', temp: 'double', at: 'date', ...extra },
}];

test('records queued under an older schema are dead-lettered with a reason, announced, and can be retried or discarded', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-schema-'));
  const schemaFile = join(dir, 'schema.json');
  // The server's schema moved on: `unit` is now required. The page still writes the old shape.
  writeFileSync(schemaFile, JSON.stringify(reading({ unit: 'string' })));
  const server = await new TestServer({ schemaFile }).start();
  try {
    await openClient(page, server.url);
    await page.evaluate(() => {
      const w = window as any;
      w.events = { rejected: [] as unknown[], uploaded: 0 };
      w.client.on('rejected', (e: unknown) => w.events.rejected.push(e));
      w.client.on('uploaded', (e: { count: number }) => { w.events.uploaded += e.count; });
    });
    await ingestReadings(page, 5);
    await page.evaluate(() => (window as any).client.flush());
    expect(await pending(page)).toBe(0);
    expect(await server.count('Reading')).toBe(0);

    const rejected = await page.evaluate(() => (window as any).client.rejected());
    expect(rejected).toHaveLength(5);
    for (const r of rejected) {
      expect(r).toMatchObject({ type: 'Reading', code: 'missing-field' });
      expect(r.message).toContain('Reading.unit');
      expect(r.doc.deviceId).toBe('d1');
    }
    await expect.poll(() => page.evaluate(() => (window as any).events.rejected)).toEqual([{ count: 5, codes: ['missing-field'] }]);

    // A compatible schema (the new field optional) is deployed; retry all but one, discard that one.
    writeFileSync(schemaFile, JSON.stringify(reading({ unit: 'string?' })));
    await server.stop();
    await server.start();
    const ids = rejected.map((r: { id: number }) => r.id);
    expect(await page.evaluate((id) => (window as any).client.discardRejected([id]), ids[0])).toBe(1);
    expect(await page.evaluate(() => (window as any).client.retryRejected())).toBe(4);
    await page.evaluate(() => (window as any).client.flush());
    expect(await page.evaluate(() => (window as any).client.rejected())).toHaveLength(0);
    expect(await server.count('Reading')).toBe(4);
    const seqs = (await server.exportDocs('Reading')).map((d) => Number(d.seq)).sort();
    expect(seqs).toEqual([1, 2, 3, 4]);
    await expect.poll(() => page.evaluate(() => (window as any).events.uploaded)).toBe(4);
  } finally {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
