import { test, expect, openClient, ingestReadings, pending, expectArrived, expectExactlyOnce } from './fixtures.js';

test('records ingested offline arrive after the tab closed, with no page open', async ({ context, page, server }) => {
  await openClient(page, server.url);
  await context.setOffline(true);
  await ingestReadings(page, 300);
  expect(await pending(page)).toBe(300);
  await page.close();

  await new Promise((r) => setTimeout(r, 1_000));
  expect(await server.count('Reading')).toBe(0); // still offline: nothing went out

  await context.setOffline(false);
  expect(context.pages()).toHaveLength(0);
  await expectArrived(server, 300);
  expect(context.pages()).toHaveLength(0); // delivered by the service worker alone
  await expectExactlyOnce(server, 300);

  // A new visit finds the outbox empty.
  const again = await context.newPage();
  await again.goto(`${server.url}/`);
  await again.evaluate(async () => {
    const w = window as any;
    w.client = await w.SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema });
  });
  await expect.poll(() => pending(again)).toBe(0);
});
