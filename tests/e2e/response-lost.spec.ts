import { FaultProxy } from '../helpers/proxy.js';
import { test, expect, openClient, ingestReadings, pending, expectArrived, expectExactlyOnce, FAST_RETRY } from './fixtures.js';

test('a batch re-sent after its response was lost is stored once', async ({ page, server }) => {
  const proxy = await new FaultProxy(() => server.port).start();
  try {
    await openClient(page, proxy.url, { ...FAST_RETRY, batchMaxRecords: 100 });
    proxy.dropUploadResponses = 1; // the server commits the first batch; its answer never arrives
    await ingestReadings(page, 250);

    await expectArrived(server, 250);
    await expect.poll(() => pending(page)).toBe(0);
    expect(proxy.dropped).toBe(1);
    expect(proxy.uploads).toBeGreaterThanOrEqual(4); // 3 batches + the re-sent one
    await expectExactlyOnce(server, 250);
  } finally {
    await proxy.close();
  }
});
