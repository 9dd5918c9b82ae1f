// flush() wakes the drain on demand and resolves once the outbox is empty.
import assert from 'node:assert/strict';
import {
  assertExactlyOnce, assertNothingArrives, flush, GIVE_UP_FAST, ingestReadings, openClient, pending,
  waitForDrainToGiveUp,
} from '../helpers/browser-driver.js';
import { restartServer, webkitTest } from './helpers/webkit.js';

webkitTest('records queued while the server is down arrive on flush(): 50', async ({ server, newPage }) => {
  const page = await newPage();
  await openClient(page, server.url, GIVE_UP_FAST);
  await server.stop();
  await ingestReadings(page, 50);
  await waitForDrainToGiveUp(page);
  assert.notEqual(await flush(page, 3_000), 'ok', 'flush() fails while the server is down');
  await waitForDrainToGiveUp(page); // the drain flush() started may outlive its reply by a backoff

  await restartServer(server);
  await assertNothingArrives(server);
  assert.equal(await pending(page), 50);

  assert.equal(await flush(page), 'ok');
  assert.equal(await pending(page), 0);
  await assertExactlyOnce(server, 50);
});
