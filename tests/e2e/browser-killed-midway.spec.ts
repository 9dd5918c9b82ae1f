import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killBrowser, launchPersistent } from '../helpers/chromium.js';
import { test, expect, openClient, ingestReadings, pending, expectExactlyOnce } from './fixtures.js';
import type { TestServer } from '../helpers/server.js';

/** Relaunches on `profile`, visits the app (the next visit), flushes, and returns the stored seqs. */
async function relaunchAndFlush(profile: string, server: TestServer): Promise<number[]> {
  const again = await launchPersistent(profile);
  try {
    const page = again.pages()[0] ?? (await again.newPage());
    await openClient(page, server.url);
    await page.evaluate(() => (window as any).client.flush({ timeoutMs: 60_000 }));
    expect(await pending(page)).toBe(0);
  } finally {
    await again.close();
  }
  return (await server.exportDocs('Reading')).map((d) => Number(d.seq));
}

test('a browser killed during ingest delivers every record whose ingest() resolved', async ({ server }) => {
  const profile = mkdtempSync(join(tmpdir(), 'sw-ingest-profile-'));
  try {
    const browser = await launchPersistent(profile);
    const page = browser.pages()[0] ?? (await browser.newPage());
    await openClient(page, server.url);
    let resolved = 0;
    await page.exposeFunction('reportResolved', (n: number) => { resolved = Math.max(resolved, n); });
    // Ingest in awaited chunks of 100, reporting each resolved chunk, until killed.
    void page.evaluate(async () => {
      const w = window as any;
      for (let from = 0; from < 1_000_000; from += 100) {
        await w.ingestReadings(w.client, 100, from);
        await w.reportResolved(from + 100);
      }
    }).catch(() => undefined);
    await expect.poll(() => resolved, { intervals: [20], timeout: 30_000 }).toBeGreaterThanOrEqual(3_000);
    await killBrowser(profile);
    await browser.close().catch(() => undefined);
    const lastResolved = resolved;

    const seqs = await relaunchAndFlush(profile, server);
    expect(new Set(seqs).size).toBe(seqs.length); // no duplicates
    const stored = new Set(seqs);
    const missing = Array.from({ length: lastResolved }, (_, i) => i).filter((i) => !stored.has(i));
    expect(missing).toEqual([]); // every resolved ingest() was delivered
    // Records committed after the last report may be there too, but only whole chunks in order.
    expect(Math.max(...seqs) + 1).toBe(seqs.length);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});

test('a browser killed during upload loses nothing and doubles nothing', async ({ server }) => {
  const total = 20_000;
  const profile = mkdtempSync(join(tmpdir(), 'sw-ingest-profile-'));
  try {
    const browser = await launchPersistent(profile);
    const page = browser.pages()[0] ?? (await browser.newPage());
    await openClient(page, server.url, { batchMaxRecords: 100 });
    await browser.setOffline(true);
    await ingestReadings(page, total);
    await browser.setOffline(false);
    await expect.poll(() => server.count('Reading'), { intervals: [10], timeout: 30_000 }).toBeGreaterThan(0);
    await killBrowser(profile);
    await browser.close().catch(() => undefined);
    expect(await server.count('Reading')).toBeLessThan(total);

    await relaunchAndFlush(profile, server);
    await expectExactlyOnce(server, total);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});
