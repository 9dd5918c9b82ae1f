import { FaultProxy } from '../helpers/proxy.js';
import { test, expect, pending, expectExactlyOnce } from './fixtures.js';

test('three tabs ingesting 5,000 records each while uploads run: one uploader, no duplicates', async ({ context, server }) => {
  const proxy = await new FaultProxy(() => server.port).start(); // no rules: it only watches
  try {
    const tabs = await Promise.all([0, 1, 2].map(() => context.newPage()));
    for (const tab of tabs) {
      await tab.goto(`${proxy.url}/`);
      await tab.evaluate(async () => {
        const w = window as any;
        w.client = await w.SwIngest.open({
          endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema, batchMaxRecords: 200,
        });
      });
    }
    // All three at once, in chunks, so uploads run while the tabs write.
    await Promise.all(tabs.map((tab, k) => tab.evaluate(async (from) => {
      const w = window as any;
      for (let i = 0; i < 5_000; i += 250) await w.ingestReadings(w.client, 250, from + i);
    }, k * 5_000)));
    await tabs[0]!.evaluate(() => (window as any).client.flush({ timeoutMs: 60_000 }));
    for (const tab of tabs) expect(await pending(tab)).toBe(0);
    await expectExactlyOnce(server, 15_000);
    expect(proxy.uploadLog.length).toBeGreaterThanOrEqual(15_000 / 200);
    // One uploader at a time across the tabs: it keeps at most two uploads in
    // flight (sw/upload-window.ts pipelines), and never the same record in two of them.
    const { maxInFlight, overlaps } = proxy.concurrency();
    expect(maxInFlight).toBeLessThanOrEqual(2);
    expect(overlaps).toBe(0);
  } finally {
    await proxy.close();
  }
});
