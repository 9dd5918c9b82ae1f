// The last tab of the site closes right after records were committed: the
// write's wake-up message has reached the worker, whose drain goes on with
// no page open until WebKit stops the worker (~10 s after its last page,
// waitUntil or not). What arrives then is printed; whatever did not go out
// goes on the next visit, and every record is stored exactly once.
import assert from 'node:assert/strict';
import { assertExactlyOnce, ingestReadings, openClient, pending, waitForArrival, waitForEmptyOutbox } from '../helpers/browser-driver.js';
import { arrivalsWithNoPage } from './helpers/arrivals.js';
import { webkitTest } from './helpers/webkit.js';

const COUNT = 5_000;

webkitTest(`records committed as the last tab closes arrive exactly once: ${COUNT}`, async ({ server, newPage }, t) => {
  const page = await newPage();
  await openClient(page, server.url);
  await ingestReadings(page, COUNT); // resolved: committed
  await page.close(); // the next command; the session's blank window stays open
  const atClose = await server.count('Reading');

  const seen = await arrivalsWithNoPage(server);
  const figure = `${atClose} of ${COUNT} had arrived as the tab closed, ${seen.count - atClose} more with no page open `
    + `(the last ${seen.lastArrivalMs} ms after the close), ${COUNT - seen.count} left for the next visit`;
  t.diagnostic(figure);
  console.log(`[webkit] last tab closed right after a commit: ${figure}`);

  const next = await newPage();
  await openClient(next, server.url);
  await waitForArrival(server, COUNT);
  await waitForEmptyOutbox(next);
  assert.equal(await pending(next), 0);
  await assertExactlyOnce(server, COUNT);
});
