// The testing kit (server package) may not import the page package, so it
// copies two names of lib/sw-messages.ts: the Background Sync tag that
// fireSync() dispatches and the message waitForEmptyOutbox() posts. They
// must stay the worker's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SYNC_TAG, type PendingMessage } from '../../lib/sw-messages.js';
import { PENDING_MESSAGE_TYPE, SYNC_TAG as KIT_SYNC_TAG } from '../../server/testing/sw-contract.js';

test('the kit fires the sync tag the worker drains on', () => {
  assert.equal(KIT_SYNC_TAG, SYNC_TAG);
});

test('the kit posts the pending message the worker answers', () => {
  const message: PendingMessage = { type: PENDING_MESSAGE_TYPE }; // tsc -p tests: the literal types agree
  assert.equal(message.type, 'sw-ingest:pending');
  const install = readFileSync(new URL('../../sw/install.ts', import.meta.url), 'utf8');
  assert.match(install, new RegExp(`message\\?\\.type === '${PENDING_MESSAGE_TYPE}'`));
});
