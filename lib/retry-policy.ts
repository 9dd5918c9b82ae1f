/**
 * The retry policy of uploads, in one place: its options and defaults, the
 * backoff, the `Retry-After` floor, the drain's time budget, and the table
 * of what each answer of the server means for the batch (docs/architecture.md
 * "Wake-ups and the drain" describes the same table in prose). Shared by the
 * page (which stores the policy with the outbox's config) and the service
 * worker (which applies it); no DOM or worker API here.
 */

/** Backoff and time limits of uploads; `open({ retry })` overrides any of them. */
export interface RetryPolicy {
  /** First backoff delay, in ms. @default 1000 */
  baseMs: number;
  /** Largest backoff delay, in ms. @default 30000 */
  maxMs: number;
  /**
   * How long one drain keeps retrying before it gives up and leaves the
   * records queued for the next wake-up (a sync event then fails, and the
   * browser reschedules it). Chromium gives a sync event 3 minutes.
   * @default 150000
   */
  syncBudgetMs: number;
  /** Time limit of one request (login, refresh, upload), in ms. @default 30000 */
  requestTimeoutMs: number;
}

/** The defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  baseMs: 1_000,
  maxMs: 30_000,
  // Chromium gives a sync event 3 minutes; stop retrying well before.
  syncBudgetMs: 150_000,
  requestTimeoutMs: 30_000,
});

/**
 * Full-jitter exponential backoff: a random delay in
 * [0, min(maxMs, baseMs·2^attempt)].
 *
 * @param attempt - failures in a row before this one, from 0
 * @param policy - the base and cap
 * @param random - a source of [0, 1) @default Math.random
 */
export function backoffMs(attempt: number, policy: Pick<RetryPolicy, 'baseMs' | 'maxMs'>, random: () => number = Math.random): number {
  return random() * Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
}

/**
 * The wait before the next attempt: the backoff, but never less than the
 * server's `Retry-After`. The server's wait is a floor, not a replacement:
 * "Retry-After: 0" answered again and again must not become a tight loop.
 *
 * @param attempt - failures in a row before this one, from 0
 * @param policy - the base and cap
 * @param retryAfter - the server's `Retry-After` in ms, if it sent one
 * @param random - a source of [0, 1) @default Math.random
 */
export function retryDelayMs(attempt: number, policy: Pick<RetryPolicy, 'baseMs' | 'maxMs'>, retryAfter: number | undefined, random: () => number = Math.random): number {
  return Math.max(retryAfter ?? 0, backoffMs(attempt, policy, random));
}

/**
 * Parses `Retry-After` (delay-seconds or an HTTP date) into milliseconds;
 * undefined when absent or unreadable.
 *
 * @param header - the header's value
 * @param now - the current time, for an HTTP date @default Date.now()
 */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What the drain does about a failed request. */
export type FailureAction =
  /** Back off (at least `Retry-After`), then send the same batch again. */
  | 'retry'
  /** The server refuses these records for good: dead-letter them (with its code). */
  | 'reject-batch'
  /** Too large: halve the batch (an entry of several records is split first). */
  | 'shrink'
  /** The endpoint is not the API: end this drain, keep every record queued; the next wake-up tries again. */
  | 'stop';

/** The page error code a failed answer is reported as. */
export type FailureCode = 'endpoint-not-found' | 'rate-limited' | 'auth-failed' | 'rejected-by-server' | 'server-error';

/** Statuses whose meaning does not depend on who answered (a proxy's 413 or 429 means what the server's would). */
const GENERIC_STATUSES = new Set([401, 403, 408, 413, 429]);

/**
 * The table of what a non-2xx answer means, by its status, whether its body
 * is the API's `{"error": {"code", "message"}}`, and whether it carries
 * `Retry-After`:
 *
 * | answer | code | action |
 * |---|---|---|
 * | 404, 405 | `endpoint-not-found` | `stop` |
 * | other 4xx (not 401/403/408/413/429) without the API's error body | `endpoint-not-found` | `stop` |
 * | 429, or 503 with `Retry-After` | `rate-limited` | `retry` |
 * | 401, 403 (after one refresh) | `auth-failed` | `retry` |
 * | 413 | `rejected-by-server` | `shrink` |
 * | 408, 5xx, anything below 400 | `server-error` | `retry` |
 * | other 4xx with the API's error body | `rejected-by-server` | `reject-batch` |
 *
 * @param status - the HTTP status (not 2xx)
 * @param fromApi - whether the body is an sw-ingest error body
 * @param hasRetryAfter - whether the answer carries a readable `Retry-After`
 */
export function failureFor(status: number, fromApi: boolean, hasRetryAfter: boolean): { code: FailureCode; action: FailureAction } {
  if (status === 404 || status === 405) return { code: 'endpoint-not-found', action: 'stop' };
  if (!fromApi && status >= 400 && status < 500 && !GENERIC_STATUSES.has(status)) return { code: 'endpoint-not-found', action: 'stop' };
  if (status === 429 || (status === 503 && hasRetryAfter)) return { code: 'rate-limited', action: 'retry' };
  if (status === 401 || status === 403) return { code: 'auth-failed', action: 'retry' };
  if (status === 413) return { code: 'rejected-by-server', action: 'shrink' };
  if (status === 408 || status >= 500 || status < 400) return { code: 'server-error', action: 'retry' };
  return { code: 'rejected-by-server', action: 'reject-batch' };
}

/**
 * Whether the drain may wait `delayMs` more and still finish within its
 * budget; when not, it gives up and leaves the records queued.
 *
 * @param deadline - when the drain's budget ends (ms since the epoch)
 * @param delayMs - the wait before the next attempt
 * @param now - the current time @default Date.now()
 */
export function withinBudget(deadline: number, delayMs: number, now = Date.now()): boolean {
  return now + delayMs <= deadline;
}
