/**
 * One upload: a batch from the outbox → one `POST {endpoint}/batches` →
 * the server's per-record verdict. Gets a session first (anonymous login or
 * refresh), so a record queued a week ago is sent with a fresh token.
 */
import { loginRequest } from '../lib/credentials.js';
import { endpointNotFoundMessage, IngestError, type IngestErrorCode } from '../core/errors.js';
import { failureFor, retryAfterMs, type FailureAction } from '../lib/retry-policy.js';
import { getSession, putSession, type Batch, type OutboxDb, type StoredConfig } from '../lib/outbox-db.js';
import {
  BSON_CONTENT_TYPE, PATHS, PROTOCOL_VERSION, encodeBatchBody, endpointUrl, isSession, parseUploadReply, speaksProtocol,
  type ErrorReply, type RecordResult, type Session,
} from '../core/protocol.js';

/** Refresh the access token when it has less than this left. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;

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

async function post(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
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
async function errorBody(res: Response): Promise<ErrorReply['error'] | undefined> {
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
async function failure(res: Response, what: string, url: string): Promise<UploadFailure> {
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

async function requestSession(config: StoredConfig, path: string, bearer: string | undefined, what: string): Promise<Session> {
  const headers: HeadersInit = bearer ? { Authorization: `Bearer ${bearer}` } : {};
  const url = endpointUrl(config.endpoint, path);
  const res = await post(url, { headers }, config.retry.requestTimeoutMs);
  if (!res.ok) throw await failure(res, what, url);
  const reply: unknown = await res.json().catch(() => undefined);
  if (!isSession(reply)) throw endpointNotFound(url, `HTTP ${res.status}, but not an sw-ingest session of protocol ${PROTOCOL_VERSION}`, 'stop');
  return reply;
}

/** Logs in again with what the outbox keeps (anonymous, or the API key); a JWT user needs the page. */
function logIn(config: StoredConfig): Promise<Session> {
  const credentials = config.credentials ?? { type: 'anonymous' };
  if (credentials.type === 'none') throw new IngestError('logged-out', 'logged out: nothing uploads until open() logs in again');
  const login = loginRequest(credentials);
  if (!login) {
    throw new UploadFailure('auth-failed', 'the session ended and a JWT user can only log in again from a page: open() the client with a fresh token', 'retry');
  }
  return requestSession(config, login.path, login.bearer, `${credentials.type} login`);
}

/**
 * A session with an access token good for at least a minute: the stored
 * one, a refreshed one, or a new anonymous login when the refresh token is
 * refused (anonymous users have nothing else to lose).
 */
export async function freshSession(db: OutboxDb, config: StoredConfig, force = false): Promise<Session> {
  const stored = await getSession(db);
  if (stored && !force && stored.accessTokenExpiresAt - TOKEN_REFRESH_MARGIN_MS > Date.now()) return stored;
  if (config.credentials?.type === 'none') throw new IngestError('logged-out', 'logged out: nothing uploads until open() logs in again');
  let session: Session;
  if (!stored) {
    session = await logIn(config);
  } else {
    try {
      session = await requestSession(config, PATHS.refresh, stored.refreshToken, 'refresh');
    } catch (e) {
      // Refused (expired, logged out, key revoked): log in again where the outbox can.
      if (!(e instanceof UploadFailure && e.code === 'auth-failed')) throw e;
      session = await logIn(config);
    }
  }
  await putSession(db, session);
  return session;
}

/**
 * Uploads one batch and returns the server's verdict per record, or throws
 * an {@link UploadFailure}. A reply that does not account for every record
 * confirms nothing (`bad-response`, retried: the server deduplicates); a
 * malformed entry leaves its record unconfirmed (`undefined`).
 */
export async function uploadBatch(db: OutboxDb, config: StoredConfig, batch: Batch): Promise<Array<RecordResult | undefined>> {
  const body = encodeBatchBody(config.clientId, new Date(), batch.records);
  const url = endpointUrl(config.endpoint, PATHS.batches);
  let session = await freshSession(db, config);
  for (let attempt = 0; ; attempt++) {
    const res = await post(url, {
      headers: { 'Content-Type': BSON_CONTENT_TYPE, Authorization: `Bearer ${session.accessToken}` },
      body,
    }, config.retry.requestTimeoutMs);
    if (res.status === 401 && attempt === 0) {
      // The token expired or the server's key changed: refresh once, then resend.
      session = await freshSession(db, config, true);
      continue;
    }
    if (!res.ok) throw await failure(res, `POST ${url}`, url);
    // Not JSON (an HTML page), or JSON without this protocol's version
    // (another service): not the API's answer. Retried all the same: after a
    // commit, a middlebox may have replaced a real confirmation, and the
    // re-send is answered duplicate. JSON that does not parse (a truncated
    // body) is a broken confirmation: bad-response, below.
    const type = res.headers.get('Content-Type') ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw endpointNotFound(url, `HTTP ${res.status} ${type === '' ? 'without a Content-Type' : type}, not an sw-ingest confirmation`, 'retry');
    }
    let reply: unknown;
    try {
      reply = await res.json();
    } catch {
      reply = undefined;
    }
    if (reply !== undefined && !speaksProtocol(reply)) {
      throw endpointNotFound(url, `HTTP ${res.status}, but the reply is not an sw-ingest confirmation of protocol ${PROTOCOL_VERSION}`, 'retry');
    }
    const results = parseUploadReply(reply, batch.records.length);
    if (!results) {
      throw new UploadFailure('bad-response', `POST ${url}: the reply does not confirm the ${batch.records.length} records sent`, 'retry');
    }
    return results;
  }
}
