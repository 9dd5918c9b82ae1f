// The retry policy (lib/retry-policy.ts) as a table: what each answer of the
// server makes the drain do, the Retry-After floor under the backoff, the
// backoff's bounds and the drain's budget.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, DEFAULT_RETRY, failureFor, retryAfterMs, retryDelayMs, withinBudget } from '../../lib/retry-policy.js';

describe('the retry policy', () => {
  it('maps each answer to its code and action, row by row: 14 rows', () => {
    const rows: Array<[number, boolean, boolean, string, string]> = [
      // status, API error body, Retry-After → code, action
      [404, true, false, 'endpoint-not-found', 'stop'],
      [405, false, false, 'endpoint-not-found', 'stop'],
      [400, false, false, 'endpoint-not-found', 'stop'],
      [422, false, false, 'endpoint-not-found', 'stop'],
      [429, false, true, 'rate-limited', 'retry'],
      [429, true, false, 'rate-limited', 'retry'],
      [503, true, true, 'rate-limited', 'retry'],
      [503, true, false, 'server-error', 'retry'],
      [401, false, false, 'auth-failed', 'retry'],
      [403, true, false, 'auth-failed', 'retry'],
      [413, false, false, 'rejected-by-server', 'shrink'],
      [408, false, false, 'server-error', 'retry'],
      [500, false, false, 'server-error', 'retry'],
      [400, true, false, 'rejected-by-server', 'reject-batch'],
    ];
    for (const [status, fromApi, retryAfter, code, action] of rows) {
      assert.deepEqual(failureFor(status, fromApi, retryAfter), { code, action }, `${status} fromApi=${fromApi} retryAfter=${retryAfter}`);
    }
  });

  it('never waits less than the server asked, and never less than the backoff: 3 cases', () => {
    const policy = { baseMs: 100, maxMs: 1_000 };
    assert.equal(retryDelayMs(0, policy, 2_000, () => 0.99), 2_000); // Retry-After above the backoff
    assert.equal(retryDelayMs(3, policy, 0, () => 0.5), 400); // Retry-After: 0 is no tight loop
    assert.equal(retryDelayMs(3, policy, undefined, () => 0.5), 400);
  });

  it('keeps full-jitter backoff within [0, min(max, base·2^n)]: 1000 draws', () => {
    for (let n = 0; n < 1_000; n++) {
      const attempt = n % 12;
      const d = backoffMs(attempt, DEFAULT_RETRY);
      assert.ok(d >= 0 && d <= Math.min(DEFAULT_RETRY.maxMs, DEFAULT_RETRY.baseMs * 2 ** attempt), `${d} at attempt ${attempt}`);
    }
  });

  it('reads Retry-After as seconds or an HTTP date, and nothing else: 5 headers', () => {
    assert.equal(retryAfterMs('2'), 2_000);
    assert.equal(retryAfterMs('0'), 0);
    assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000);
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(retryAfterMs(null), undefined);
  });

  it('gives up when the next wait would end past the budget: 2 cases', () => {
    assert.equal(withinBudget(10_000, 5_000, 4_000), true);
    assert.equal(withinBudget(10_000, 5_000, 6_000), false);
  });

  it('has documented defaults that cannot be changed by accident: 4 values', () => {
    assert.deepEqual({ ...DEFAULT_RETRY }, { baseMs: 1_000, maxMs: 30_000, syncBudgetMs: 150_000, requestTimeoutMs: 30_000 });
    assert.throws(() => { (DEFAULT_RETRY as { baseMs: number }).baseMs = 1; });
  });
});
