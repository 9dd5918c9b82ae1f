// A large backlog when the last tab closes: the worker's drain is under way
// with no page open, and WebKit stops the worker about 10 s after its last
// page, waitUntil or not, in the middle of the drain. Nothing may be lost
// and nothing doubled: the next visit sends the rest, and a batch the
// server stored but whose answer never reached the stopped worker is sent
// again and answered "duplicate" (the server's idempotent insert).
//
// On this machine a fast link drains 50,000 in ~5 s, well inside the ~10 s;
// so the site is loaded through the fault proxy (tests/helpers/proxy.ts),
// which answers each upload after SLOW_LINK_MS, like a slow mobile link.
// How much arrived with no page open is printed, not asserted.
import assert from 'node:assert/strict';
import { assertExactlyOnce, ingestReadings, openClient, pending, waitForArrival, waitForEmptyOutbox } from '../helpers/browser-driver.js';
import { FaultProxy } from '../helpers/proxy.js';
import { arrivalsWithNoPage } from './helpers/arrivals.js';
import { webkitTest } from './helpers/webkit.js';

const COUNT = 50_000;
const BATCH_MAX_RECORDS = 1_000;
/**
 * Each upload's answer is held this long. The drain keeps about two uploads
 * on the wire (it reads the next batch while one is out), so 50 uploads
 * take ≥ 25 s: more than twice the worker's life with no page.
 */
const SLOW_LINK_MS = 1_000;

webkitTest(`a backlog of ${COUNT} left by the last tab is stored exactly once after the next visit: ${COUNT}`, async ({ server, newPage }, t) => {
  const proxy = await new FaultProxy(() => server.port).start();
  try {
    proxy.nextUploads(Array.from({ length: 2 * COUNT / BATCH_MAX_RECORDS }, () => ({ delayResponseMs: SLOW_LINK_MS, label: 'slow link' })));
    const page = await newPage();
    await openClient(page, proxy.url, { batchMaxRecords: BATCH_MAX_RECORDS });
    let since = Date.now();
    await ingestReadings(page, COUNT); // one coalesced write; its wake-up starts the drain
    const ingestMs = Date.now() - since;
    const atClose = await server.count('Reading');
    await page.close();

    const seen = await arrivalsWithNoPage(server);
    const uploadsWithNoPage = proxy.uploadLog.length;
    const cut = proxy.uploadLog.filter((u) => u.outcome === 'client-gone' || u.outcome === 'in-flight');
    const figure = `${seen.count - atClose} of ${COUNT} arrived with no page open (${atClose} before the tab closed; ingest took ${ingestMs} ms; `
      + `the last arrival ${seen.lastArrivalMs} ms after the close; ${uploadsWithNoPage} uploads, ${cut.length} of them unanswered when the worker stopped; `
      + `${seen.count < COUNT ? 'stopped mid-drain' : 'NOT stopped mid-drain: the drain finished first, slow the link further'}); `
      + `timeline ${JSON.stringify(seen.timeline.filter((_, i, all) => i % 4 === 0 || i === all.length - 1))}`;
    t.diagnostic(figure);
    console.log(`[webkit] backlog of ${COUNT} as the last tab closes: ${figure}`);

    proxy.clearRules(); // the next visit on a fast link
    since = Date.now();
    const next = await newPage();
    await openClient(next, proxy.url, { batchMaxRecords: BATCH_MAX_RECORDS });
    await waitForArrival(server, COUNT, 180_000);
    await waitForEmptyOutbox(next);
    const again = proxy.uploadLog.slice(uploadsWithNoPage);
    const duplicates = again.reduce((n, u) => n + (u.verdicts?.duplicate ?? 0), 0);
    const visit = `the next visit delivered the remaining ${COUNT - seen.count} in ${Date.now() - since} ms (${again.length} uploads; ${duplicates} records answered "duplicate")`;
    t.diagnostic(visit);
    console.log(`[webkit] ${visit}`);
    assert.equal(await pending(next), 0);
    await assertExactlyOnce(server, COUNT);
  } finally {
    await proxy.close();
  }
});
