/**
 * Authentication: sessions with short-lived access tokens and long-lived
 * refresh tokens, three ways to log in (anonymous, API key, the app's own
 * JWT), logout and revocation, and the admin key.
 *
 * - Session: one login. A user has one (anonymous) or many (an API key or a
 *   JWT user on several devices). Stored with the SHA-256 of its refresh
 *   token, the API key it came from, and when it was revoked.
 * - Access token: an HS256 JWT (`sub` = user id, `sid` = session id, `iss` =
 *   `sw-ingest`), checked without a database read, plus a lookup in the
 *   {@link RevocationList}: an in-memory set of sessions revoked within the
 *   last access-token lifetime, reloaded from the database at most every
 *   `revocationCheckIntervalMs` (default 2 s). So a logout or a revoked API
 *   key stops that session's uploads within two seconds on every server on
 *   the database, for one indexed query per server per interval instead of
 *   one per request.
 * - Refresh token: 32 random bytes, base64url; the server keeps only its
 *   SHA-256. Refresh tokens are **not rotated**: `/auth/refresh` answers the
 *   same refresh token with a new access token, so a refresh whose reply is
 *   lost can simply be repeated (no race between tabs or a killed SW). A
 *   refresh is checked against the database every time: once the session is
 *   logged out or its API key revoked, it answers 401 at once.
 * - API key: `swi_` + 32 random bytes, base64url, shown once by `sw-ingest
 *   keys create`; stored as its SHA-256. One user per key: `api-key:<id>`.
 * - Admin key: compared in constant time; user tokens never pass it.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { errors as joseErrors } from 'jose';
import { PATHS, PROTOCOL_VERSION, type Session } from '../core/protocol.js';
import { type AccessClaims, type TokenIssuer } from './access-tokens.js';
import type { CustomJwtVerifier } from './custom-jwt.js';
import { sendError } from './errors.js';
import type { AuthFailureReason, IngestMetrics } from './metrics.js';
import type { Store } from './store.js';

export { createTokenIssuer, DEFAULT_ACCESS_TOKEN_TTL_SEC, TOKEN_ISSUER } from './access-tokens.js';
export type { AccessClaims, TokenIssuer } from './access-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The `sub` of the verified access token; set by {@link requireUser}. */
    userId: string;
    /** The `sid` of the verified access token; set by {@link requireUser}. */
    sessionId: string;
  }
}

/** Default most time between two reloads of the {@link RevocationList}. */
export const DEFAULT_REVOCATION_CHECK_INTERVAL_MS = 2_000;
/** Prefix of API keys, so that leaked keys are recognisable (secret scanners). */
export const API_KEY_PREFIX = 'swi_';

/** The SHA-256 (hex) under which refresh tokens and API keys are stored. */
export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new API key: its id, the key to show once, and the hash to store. */
export function generateApiKey(): { id: string; key: string; keyHash: string; userId: string } {
  const id = randomBytes(8).toString('hex');
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { id, key, keyHash: sha256Hex(key), userId: `api-key:${id}` };
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/**
 * The sessions revoked within the last access-token lifetime, as a set in
 * memory, reloaded from the store when it is older than `intervalMs` (the
 * reload is shared by the requests that arrive meanwhile). A session
 * revoked by this server is added at once; one revoked by another server
 * or by `sw-ingest keys revoke` is seen at the next reload. With
 * `intervalMs` 0 every request reads the store.
 */
export class RevocationList {
  private revoked = new Set<string>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;

  /**
   * @param store - where sessions are kept
   * @param windowMs - how far back to look: the access-token lifetime (older sessions' tokens have expired)
   * @param intervalMs - most time between reloads
   */
  constructor(private readonly store: Store, private readonly windowMs: number, private readonly intervalMs: number) {}

  /** Whether the session was revoked (logged out, or its API key revoked). */
  async isRevoked(sessionId: string): Promise<boolean> {
    if (Date.now() - this.loadedAt >= this.intervalMs) await this.reload();
    return this.revoked.has(sessionId);
  }

  /** Records a revocation made by this server, effective at once. */
  add(sessionId: string): void {
    this.revoked.add(sessionId);
  }

  private reload(): Promise<void> {
    this.loading ??= (async () => {
      const started = Date.now();
      try {
        // A minute of slack for clock differences between servers.
        const ids = await this.store.revokedSessionIds(started - this.windowMs - 60_000);
        this.revoked = new Set(ids);
        this.loadedAt = started;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}

/**
 * An `onRequest` hook that admits only requests with a valid access token
 * of a session that is not revoked, and sets `request.userId` and
 * `request.sessionId`. Runs before the body is read, so unauthenticated
 * uploads cost no parsing.
 *
 * @param issuer - from {@link createTokenIssuer}
 * @param revocations - the revoked sessions
 */
export function requireUser(issuer: TokenIssuer, revocations: RevocationList, metrics?: IngestMetrics): onRequestAsyncHookHandler {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = bearerToken(request);
    if (token === undefined) return missingBearer(reply, '<accessToken>', metrics);
    let claims: AccessClaims;
    try {
      claims = await issuer.verify(token);
    } catch (err) {
      return err instanceof joseErrors.JWTExpired
        ? refuse(reply, 'expired-access-token', 'The access token has expired; refresh it.', metrics)
        : refuse(reply, 'invalid-access-token', 'The access token is not valid.', metrics);
    }
    // A store failure here throws: 503 database-unavailable when the database is away (else 500), and the client retries.
    if (await revocations.isRevoked(claims.sessionId)) {
      return refuse(reply, 'revoked-session', 'The session was logged out or its API key revoked; log in again.', metrics);
    }
    request.userId = claims.userId;
    request.sessionId = claims.sessionId;
    return undefined;
  };
}

/**
 * An `onRequest` hook that admits only `Authorization: Bearer <adminKey>`.
 * Both sides are hashed first so that the comparison takes the same time
 * whatever the length or content of the guess.
 *
 * @param adminKey - the configured admin key
 */
export function requireAdmin(adminKey: string, metrics?: IngestMetrics) {
  const expected = createHash('sha256').update(adminKey).digest();
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const given = createHash('sha256').update(bearerToken(request) ?? '').digest();
    if (timingSafeEqual(given, expected)) return undefined;
    return refuse(reply, 'invalid-admin-key', 'Admin routes need "Authorization: Bearer <admin key>".', metrics);
  };
}

/**
 * Refuses a request's credentials: 401 `unauthorized` (or `forbidden`)
 * with `message`, counted in `sw_ingest_auth_failures_total` by `reason`.
 */
function refuse(reply: FastifyReply, reason: AuthFailureReason, message: string, metrics: IngestMetrics | undefined, code: 'unauthorized' | 'forbidden' | 'anonymous-disabled' = 'unauthorized'): FastifyReply {
  metrics?.authFailure(reason);
  return sendError(reply, code, { message });
}

/** Refuses a request without `Authorization: Bearer <what>`. */
function missingBearer(reply: FastifyReply, what: string, metrics: IngestMetrics | undefined): FastifyReply {
  return refuse(reply, 'missing-credentials', `Missing "Authorization: Bearer ${what}" header.`, metrics);
}

/** Options of {@link registerAuthRoutes}. */
export interface AuthRouteOptions {
  store: Store;
  issuer: TokenIssuer;
  revocations: RevocationList;
  /** Whether `POST {prefix}/auth/anonymous` creates users. @default true */
  anonymous: boolean;
  /** Checks app JWTs for `POST {prefix}/auth/jwt`; without it that route answers 403. */
  customJwt?: CustomJwtVerifier | undefined;
  /** Extra `onRequest` hooks of the login routes (rate limits). */
  loginHooks?: onRequestAsyncHookHandler[];
  /** The schema's fingerprints (`schemaFingerprints()`), sent with every session for the page's drift check. */
  schemaFingerprints: Record<string, string>;
  /** Where refused credentials are counted. */
  metrics?: IngestMetrics | undefined;
}

/**
 * Registers the routes of {@link PATHS} under `/auth` on `app`, under
 * whatever prefix `app` was registered with, and a JSON parser for that
 * context that accepts an empty body:
 * - `POST /auth/anonymous`, `/auth/api-key`, `/auth/jwt`: log in, answering a {@link Session};
 * - `POST /auth/refresh`: a new access token for a live session;
 * - `POST /auth/logout`: revokes the session (204, also when it was already revoked).
 *
 * @param app - a fastify instance or encapsulated plugin context
 * @param options - see {@link AuthRouteOptions}
 */
export function registerAuthRoutes(app: FastifyInstance, options: AuthRouteOptions): void {
  const { store, issuer, revocations, metrics } = options;
  const loginHooks = options.loginHooks ?? [];
  // The auth routes take no body, but clients often send `Content-Type:
  // application/json` on every POST; fastify refuses that with an empty body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(Object.assign(err as Error, { statusCode: 400 }), undefined);
    }
  });

  /** Records a new session for `userId` and answers it. */
  async function startSession(userId: string, apiKeyId?: string): Promise<Session> {
    const sessionId = randomUUID();
    const refreshToken = randomBytes(32).toString('base64url');
    await store.createSession({
      id: sessionId, userId, refreshTokenHash: sha256Hex(refreshToken), createdAt: Date.now(),
      ...(apiKeyId === undefined ? {} : { apiKeyId }),
    });
    return { v: PROTOCOL_VERSION, userId, refreshToken, ...(await issuer.issue(userId, sessionId)), schema: options.schemaFingerprints };
  }

  // Login routes take no body: a small limit keeps floods cheap.
  const loginRoute = { bodyLimit: 4096, onRequest: loginHooks };

  app.post(PATHS.anonymousLogin, loginRoute, async (_request, reply) => {
    if (!options.anonymous) return refuse(reply, 'anonymous-disabled', 'Anonymous login is turned off on this server.', metrics, 'anonymous-disabled');
    return startSession(randomUUID());
  });

  app.post(PATHS.apiKeyLogin, loginRoute, async (request, reply) => {
    const key = bearerToken(request);
    if (key === undefined) return missingBearer(reply, '<api key>', metrics);
    const found = await store.findApiKey(sha256Hex(key));
    if (found === undefined) return refuse(reply, 'invalid-api-key', 'The API key is not valid or was revoked.', metrics);
    return startSession(found.userId, found.id);
  });

  app.post(PATHS.jwtLogin, loginRoute, async (request, reply) => {
    if (options.customJwt === undefined) {
      return refuse(reply, 'jwt-not-configured', 'JWT login is not configured on this server (--jwt-secret or --jwks).', metrics, 'forbidden');
    }
    const token = bearerToken(request);
    if (token === undefined) return missingBearer(reply, '<JWT>', metrics);
    let userId: string;
    try {
      userId = await options.customJwt(token);
    } catch (err) {
      // jose's messages name the failed check ("unexpected \"aud\" claim value"), never the token or key.
      const detail = err instanceof joseErrors.JOSEError || err instanceof Error ? `: ${err.message}` : '';
      return refuse(reply, 'invalid-jwt', `The JWT is not valid${detail.slice(0, 200)}.`, metrics);
    }
    return startSession(userId);
  });

  app.post(PATHS.refresh, { bodyLimit: 4096 }, async (request, reply) => {
    const refreshToken = bearerToken(request);
    if (refreshToken === undefined) return missingBearer(reply, '<refreshToken>', metrics);
    const session = await store.findSession(sha256Hex(refreshToken));
    if (session === undefined) {
      return refuse(reply, 'invalid-refresh-token', 'The refresh token is not valid, or its session was logged out or its API key revoked; log in again.', metrics);
    }
    return {
      v: PROTOCOL_VERSION, userId: session.userId, refreshToken, ...(await issuer.issue(session.userId, session.id)), schema: options.schemaFingerprints,
    } satisfies Session;
  });

  app.post(PATHS.logout, { bodyLimit: 4096 }, async (request, reply) => {
    const refreshToken = bearerToken(request);
    if (refreshToken === undefined) return missingBearer(reply, '<refreshToken>', metrics);
    const sessionId = await store.revokeSession(sha256Hex(refreshToken), Date.now());
    if (sessionId !== undefined) revocations.add(sessionId);
    // Idempotent: logging out twice, or with an unknown token, is not an error.
    return reply.code(204).send();
  });
}
