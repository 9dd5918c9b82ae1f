/**
 * For tests that take the database away under a running server: uploads
 * that keep the answer's `Retry-After`, a tally of answers by status, and
 * the check that a 503 is the catalogue's `database-unavailable` with a
 * `Retry-After` the service worker will honour.
 */
import assert from 'node:assert/strict';
import type { ErrorReply, RecordResult } from '../../core/protocol.js';

/** What one upload got: status, `Retry-After` and body (with its results when 200), or a network error. */
export type Answer =
  | { status: number; retryAfter: string | null; body: string; results?: RecordResult[] }
  | { error: Error };

/**
 * POSTs an upload body to `baseUrl`'s batches route; never throws.
 *
 * @param baseUrl - e.g. `http://127.0.0.1:1234`
 * @param accessToken - a session's access token
 * @param body - from `readingUpload`
 */
export async function sendBatch(baseUrl: string, accessToken: string, body: Buffer): Promise<Answer> {
  try {
    const res = await fetch(`${baseUrl}/api/ingest/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/bson', authorization: `Bearer ${accessToken}` },
      body: new Uint8Array(body),
    });
    const text = await res.text();
    const answer = { status: res.status, retryAfter: res.headers.get('retry-after'), body: text };
    return res.status === 200 ? { ...answer, results: (JSON.parse(text) as { results: RecordResult[] }).results } : answer;
  } catch (err) {
    return { error: err as Error };
  }
}

/** Counts answers by status (`network-error` for none), for assertions and the test's diagnostic line. */
export class StatusTally {
  readonly counts: Record<string, number> = {};

  /** Counts `answer` and returns it. */
  add<A extends Answer>(answer: A): A {
    const key = 'error' in answer ? 'network-error' : String(answer.status);
    this.counts[key] = (this.counts[key] ?? 0) + 1;
    return answer;
  }

  /** How many answers had `status` (a number, or `network-error`). */
  of(status: number | 'network-error'): number {
    return this.counts[String(status)] ?? 0;
  }

  /** e.g. `200: 31, 503: 12`. */
  toString(): string {
    return Object.entries(this.counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join(', ');
  }
}

/**
 * Asserts that `answer` is 503 `database-unavailable` with a `Retry-After`
 * of 1 to 5 seconds (what the server documents) and the catalogue's body.
 */
export function assertDatabaseUnavailable(answer: Answer, what: string): void {
  assert.ok(!('error' in answer), `${what}: a network error instead of an answer: ${'error' in answer ? answer.error.message : ''}`);
  assert.equal(answer.status, 503, `${what}: ${answer.body.slice(0, 300)}`);
  assert.match(answer.retryAfter ?? '', /^[1-5]$/, `${what}: Retry-After of 1 to 5 s`);
  const { error } = JSON.parse(answer.body) as ErrorReply;
  assert.equal(error.code, 'database-unavailable', `${what}: ${answer.body}`);
  assert.equal(typeof error.message, 'string');
}

/**
 * The distinct reasons a server process logged for its 503s (its stderr,
 * pino's JSON lines), e.g. `PostgreSQL is unavailable: connect ECONNREFUSED … (ECONNREFUSED)`,
 * with ports and addresses masked so that one cause is listed once.
 */
export function loggedUnavailableReasons(stderr: string): string[] {
  const reasons = new Set<string>();
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; reason?: string };
      if (entry.msg?.startsWith('database unavailable') && entry.reason) reasons.add(entry.reason.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, '<address>'));
    } catch {
      // not a log line
    }
  }
  return [...reasons].sort();
}
