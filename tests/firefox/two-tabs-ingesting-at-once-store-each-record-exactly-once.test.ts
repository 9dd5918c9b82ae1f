// Two tabs of one origin share one outbox and one uploader (the Web Lock
// `sw-ingest:drain` in Firefox's service worker): records written by both at
// the same time are each stored exactly once.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, firefoxTest, flush, ingestReadings, openClient, pending, waitForArrival, waitForEmptyOutbox,
} from './helpers/firefox.js';

const ROUNDS = 5;
const PER_ROUND = 40; // per tab

firefoxTest('two tabs ingesting at once store each record exactly once', async ({ server, newPage }) => {
  const a = await newPage();
  const b = await newPage();
  await openClient(a, server.url, { batchMaxRecords: 25 });
  await openClient(b, server.url, { batchMaxRecords: 25 });

  // Tab a writes seq 0…199, tab b 200…399; the rounds overlap uploads with writes.
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all([
      ingestReadings(a, PER_ROUND, round * PER_ROUND),
      ingestReadings(b, PER_ROUND, ROUNDS * PER_ROUND + round * PER_ROUND),
    ]);
  }
  const total = 2 * ROUNDS * PER_ROUND;
  await waitForArrival(server, total);
  await waitForEmptyOutbox(a);
  assert.equal(await pending(b), 0);
  assert.equal(await flush(b), 'ok');
  await assertExactlyOnce(server, total);
});
