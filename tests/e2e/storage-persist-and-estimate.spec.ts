// open({ persist: true }) asks navigator.storage.persist() once, without
// waiting for the answer; stats() reports persisted (the browser's current
// answer, navigator.storage.persisted()) and the origin's estimate(). The
// WebKit suite checks the same in WebKit (tests/webkit/persist-…), where
// persist() answers false.
import { test, expect, openClient, ingestReadings, expectExactlyOnce } from './fixtures.js';

/** Counts the page's calls of navigator.storage.persist() (in `window.persistCalls`), then lets the browser answer. */
const COUNT_PERSIST_CALLS = () => {
  const w = window as any;
  const storage = navigator.storage;
  const persist = storage.persist.bind(storage);
  w.persistCalls = 0;
  storage.persist = () => {
    w.persistCalls++;
    return persist();
  };
};

test('persist: true asks navigator.storage.persist() and stats() reports persisted and the estimate: 100', async ({ page, server }) => {
  await page.addInitScript(COUNT_PERSIST_CALLS);
  await openClient(page, server.url, { persist: true });
  await ingestReadings(page, 100);
  await page.evaluate(() => (window as any).client.flush());

  const seen = await page.evaluate(async () => {
    const w = window as any;
    const stats = await w.client.stats();
    return { calls: w.persistCalls as number, persisted: stats.persisted, browserSays: await navigator.storage.persisted(), storage: stats.storage };
  });
  console.log(`Chromium: persisted ${seen.persisted}, storage ${JSON.stringify(seen.storage)}`);
  expect(seen.calls).toBe(1);
  expect(typeof seen.persisted).toBe('boolean');
  expect(seen.persisted).toBe(seen.browserSays);
  expect(seen.storage).not.toBeNull();
  expect(seen.storage.usage).toBeGreaterThan(0);
  expect(seen.storage.quota).toBeGreaterThan(seen.storage.usage);
  await expectExactlyOnce(server, 100);
});

test('without persist, open() does not ask, and stats() still reports persisted and the estimate: 10', async ({ page, server }) => {
  await page.addInitScript(COUNT_PERSIST_CALLS);
  await openClient(page, server.url);
  await ingestReadings(page, 10);
  await page.evaluate(() => (window as any).client.flush());

  const seen = await page.evaluate(async () => {
    const w = window as any;
    const stats = await w.client.stats();
    return { calls: w.persistCalls as number, persisted: stats.persisted, storage: stats.storage };
  });
  expect(seen.calls).toBe(0);
  expect(seen.persisted).toBe(false);
  expect(seen.storage.usage).toBeGreaterThan(0);
  await expectExactlyOnce(server, 10);
});
