/**
 * Sessions: logging in (anonymous, API key, the app's JWT), refreshing, and
 * keeping a fresh access token, for the page (`open()` logs in once) and
 * the service worker (which refreshes at send time and logs in again from
 * what the outbox keeps). One module, so both read a session answer the
 * same way: a login answer that is not a session of this protocol means the
 * endpoint is not the API (`endpoint-not-found`).
 */
import { IngestError } from '../core/errors.js';
import { PATHS, PROTOCOL_VERSION, endpointUrl, isSession, type Session } from '../core/protocol.js';
import { endpointNotFound, failure, post, UploadFailure } from './api-requests.js';
import { loginRequest, type IngestCredentials } from './credentials.js';
import { getSession, putSession, type OutboxDb, type StoredConfig } from './outbox-db.js';

/** Refresh the access token when it has less than this left. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;

/**
 * POSTs to a login or refresh route and reads the session it answers.
 *
 * @throws {@link UploadFailure} for a failed request or answer (see api-requests.ts)
 */
async function requestSession(endpoint: string, path: string, bearer: string | undefined, timeoutMs: number, what: string): Promise<Session> {
  const headers: HeadersInit = bearer ? { Authorization: `Bearer ${bearer}` } : {};
  const url = endpointUrl(endpoint, path);
  const res = await post(url, { headers }, timeoutMs);
  if (!res.ok) throw await failure(res, what, url);
  const reply: unknown = await res.json().catch(() => undefined);
  if (!isSession(reply)) throw endpointNotFound(url, `HTTP ${res.status}, but not an sw-ingest session of protocol ${PROTOCOL_VERSION}`, 'stop');
  return reply;
}

/**
 * The login of `open()`. Resolves with the session; with undefined when the
 * server cannot be reached or is having trouble (the worker logs in before
 * its first upload; not for a JWT: see README); with an
 * `endpoint-not-found` error when what answered is not an sw-ingest API.
 *
 * @throws {@link IngestError} `auth-failed` when the server refuses the credentials
 */
export async function logInFromPage(endpoint: string, credentials: IngestCredentials, timeoutMs: number): Promise<Session | IngestError | undefined> {
  const login = loginRequest(credentials)!;
  try {
    return await requestSession(endpoint, login.path, login.bearer, timeoutMs, `${credentials.type} login`);
  } catch (e) {
    if (!(e instanceof UploadFailure)) throw e;
    if (e.code === 'endpoint-not-found') return new IngestError('endpoint-not-found', e.message);
    if (e.code === 'auth-failed') throw new IngestError('auth-failed', `open(): ${credentials.type} login refused by ${endpoint}: ${e.message}`);
    return undefined; // offline, or the server is having trouble: the worker tries again
  }
}

/** Logs in again from the worker with what the outbox keeps (anonymous, or the API key); a JWT user needs the page. */
function logInFromWorker(config: StoredConfig): Promise<Session> {
  const credentials = config.credentials ?? { type: 'anonymous' };
  if (credentials.type === 'none') throw new IngestError('logged-out', 'logged out: nothing uploads until open() logs in again');
  const login = loginRequest(credentials);
  if (!login) {
    throw new UploadFailure('auth-failed', 'the session ended and a JWT user can only log in again from a page: open() the client with a fresh token', 'retry');
  }
  return requestSession(config.endpoint, login.path, login.bearer, config.retry.requestTimeoutMs, `${credentials.type} login`);
}

/**
 * A session with an access token good for at least a minute: the stored
 * one, a refreshed one, or a new login when the refresh token is refused
 * (anonymous users have nothing else to lose).
 *
 * @param force - renew even a stored session that looks fresh (the server refused its token)
 */
export async function freshSession(db: OutboxDb, config: StoredConfig, force = false): Promise<Session> {
  const stored = await getSession(db);
  if (stored && !force && stored.accessTokenExpiresAt - TOKEN_REFRESH_MARGIN_MS > Date.now()) return stored;
  if (config.credentials?.type === 'none') throw new IngestError('logged-out', 'logged out: nothing uploads until open() logs in again');
  let session: Session;
  if (!stored) {
    session = await logInFromWorker(config);
  } else {
    try {
      session = await requestSession(config.endpoint, PATHS.refresh, stored.refreshToken, config.retry.requestTimeoutMs, 'refresh');
    } catch (e) {
      // Refused (expired, logged out, key revoked): log in again where the outbox can.
      if (!(e instanceof UploadFailure && e.code === 'auth-failed')) throw e;
      session = await logInFromWorker(config);
    }
  }
  await putSession(db, session);
  return session;
}
