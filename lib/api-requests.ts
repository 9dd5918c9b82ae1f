/**
 * Requests to the ingest API and how their failures are told apart, shared
 * by the page (login at `open()`) and the service worker (logins, refreshes,
 * uploads): a POST with a time limit, the API's error body, and the
 * {@link UploadFailure} each failed answer becomes, by the table of
 * `failureFor()` in retry-policy.ts.
 */
import { endpointNotFoundMessage, IngestError, type IngestErrorCode } from '../core/errors.js';
import type { ErrorReply } from '../core/protocol.js';
import { failureFor, retryAfterMs, type FailureAction } from './retry-policy.js';

/** Why an upload failed, and what the drain should do about it. */
export class UploadFailure extends IngestError {
  constructor(
    code: IngestErrorCode,
    message: string,
    /**
     * `retry`: try the same batch later. `reject-batch`: the server refuses
     * these records for good. `shrink`: too large, split it. `stop`: end this
     * drain now and keep every record queued (the endpoint is wrong: retrying
     * within the drain cannot help; the next wake-up tries again).
     */
    readonly action: FailureAction,
    readonly details: { retryAfterMs?: number; serverCode?: string; collection?: string } = {},
  ) {
    super(code, message);
  }
}

/** A POST with a time limit; a network error or the time limit becomes a retryable {@link UploadFailure}. */
export async function post(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, method: 'POST', signal: AbortSignal.timeout(timeoutMs), cache: 'no-store' });
  } catch (e) {
    const timedOut = (e as { name?: string }).name === 'TimeoutError';
    throw new UploadFailure(
      timedOut ? 'timeout' : 'network-error',
      timedOut ? `POST ${url}: no answer within ${timeoutMs} ms` : `POST ${url}: ${String((e as Error).message ?? e)}`,
      'retry',
    );
  }
}

/** The error of an sw-ingest error answer (`{"error": {"code", "message"}}`), or undefined for any other body. */
export async function errorBody(res: Response): Promise<ErrorReply['error'] | undefined> {
  try {
    const error = ((await res.json()) as Partial<ErrorReply> | null)?.error;
    return typeof error?.code === 'string' && typeof error.message === 'string' ? error : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The failure for an answer that is not from an sw-ingest API: the endpoint
 * is wrong (a typo, a missing prefix, the site's HTML fallback). Records
 * stay queued; dead letters are only for the server's verdicts on records.
 */
export function endpointNotFound(url: string, why: string, action: 'retry' | 'stop'): UploadFailure {
  return new UploadFailure('endpoint-not-found', endpointNotFoundMessage(url, why), action);
}

/** Turns a non-2xx answer into an {@link UploadFailure}, by the table of `failureFor()` (retry-policy.ts). */
export async function failure(res: Response, what: string, url: string): Promise<UploadFailure> {
  const body = await errorBody(res);
  const wait = retryAfterMs(res.headers.get('Retry-After'));
  const { code, action } = failureFor(res.status, body !== undefined, wait !== undefined);
  if (code === 'endpoint-not-found') {
    // No such route, or another server's verdict: never one on these records.
    return endpointNotFound(url, `HTTP ${res.status}${body ? ` ${body.code}` : ' without an sw-ingest error body'}`, 'stop');
  }
  const detail = `${what}: HTTP ${res.status}${body ? ` ${body.code}: ${body.message}` : ''}`;
  return new UploadFailure(code, detail, action, { serverCode: body?.code, collection: body?.collection, retryAfterMs: wait });
}
