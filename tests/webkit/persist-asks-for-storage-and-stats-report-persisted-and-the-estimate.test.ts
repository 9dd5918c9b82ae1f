// What Safari users need to know about their storage: open({ persist: true })
// asks navigator.storage.persist() (WebKit answers false: only an installed
// home-screen web app is kept), and stats() reports persisted and the
// origin's estimate(). navigator.storage exists in WebKitGTK only with the
// StorageAPI and StorageAPIEstimate features on (tests/webkit/browser.py).
import assert from 'node:assert/strict';
import { assertExactlyOnce, flush, ingestReadings, openClientInPage } from '../helpers/browser-driver.js';
import { webkitTest } from './helpers/webkit.js';

webkitTest('persist: true asks for storage and stats() reports persisted and the estimate: 100', async ({ server, newPage }, t) => {
  const page = await newPage();
  await page.goto(`${server.url}/`);
  // Count the client's calls, then let the browser answer.
  await page.evaluate(() => {
    const w = window as any;
    const storage = navigator.storage;
    const persist = storage.persist.bind(storage);
    w.persistCalls = 0;
    w.persistAnswers = [];
    storage.persist = () => {
      w.persistCalls++;
      return persist().then((answer) => { w.persistAnswers.push(answer); return answer; });
    };
  });
  await openClientInPage(page, { persist: true });
  await ingestReadings(page, 100);
  assert.equal(await flush(page), 'ok');

  const { persistCalls, persistAnswers, persisted, storage } = await page.evaluate(async () => {
    const w = window as any;
    const stats = await w.client.stats();
    return { persistCalls: w.persistCalls as number, persistAnswers: w.persistAnswers as boolean[], persisted: stats.persisted, storage: stats.storage };
  });
  t.diagnostic(`persist() answered ${JSON.stringify(persistAnswers)}; stats(): persisted ${persisted}, storage ${JSON.stringify(storage)}`);
  assert.equal(persistCalls, 1, 'open() asked once');
  assert.deepEqual(persistAnswers, [false], 'WebKit does not grant persistence to a page');
  assert.equal(persisted, false);
  assert.ok(storage !== null, 'estimate() works with StorageAPIEstimate on');
  assert.ok(storage.usage > 0, `usage ${storage.usage} > 0 after writes`);
  assert.ok(storage.quota > storage.usage, `quota ${storage.quota} > usage ${storage.usage}`);
  await assertExactlyOnce(server, 100);
});
