/**
 * Authentication: anonymous users with short-lived access tokens and
 * long-lived refresh tokens, and the admin key.
 *
 * - Access token: an HS256 JWT (`sub` = user id, `iss` = `sw-ingest`),
 *   checked without a database read.
 * - Refresh token: 32 random bytes, base64url; the server keeps only its
 *   SHA-256. Refresh tokens are **not rotated**: `/auth/refresh` answers the
 *   same refresh token with a new access token, so a refresh whose reply is
 *   lost can simply be repeated (no race between tabs or a killed SW).
 * - Admin key: compared in constant time; user tokens never pass it.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { PATHS, type Session } from '../lib/protocol.js';
import { sendError } from './errors.js';
import type { Store } from './store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The `sub` of the verified access token; set by {@link requireUser}. */
    userId: string;
  }
}

/** `iss` of every access token. */
export const TOKEN_ISSUER = 'sw-ingest';
/** Default lifetime of an access token. */
export const DEFAULT_ACCESS_TOKEN_TTL_SEC = 15 * 60;

/** Signs and checks access tokens. */
export interface TokenIssuer {
  /** A new access token for `userId` and when it expires (ms since the epoch). */
  issue(userId: string): Promise<{ accessToken: string; accessTokenExpiresAt: number }>;
  /** The user id of a valid token; throws jose's error for an invalid or expired one. */
  verify(token: string): Promise<string>;
}

/**
 * Creates the {@link TokenIssuer} for a signing secret.
 *
 * @param jwtSecret - the HS256 key (the content of the `jwt-secret` file)
 * @param accessTokenTtlSec - lifetime of access tokens @default 900
 */
export function createTokenIssuer(jwtSecret: string, accessTokenTtlSec = DEFAULT_ACCESS_TOKEN_TTL_SEC): TokenIssuer {
  const key = new TextEncoder().encode(jwtSecret);
  return {
    async issue(userId) {
      const exp = Math.floor(Date.now() / 1000) + accessTokenTtlSec;
      const accessToken = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(TOKEN_ISSUER)
        .setIssuedAt()
        .setExpirationTime(exp)
        .sign(key);
      return { accessToken, accessTokenExpiresAt: exp * 1000 };
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, key, {
        issuer: TOKEN_ISSUER,
        algorithms: ['HS256'],
        requiredClaims: ['sub', 'exp'],
      });
      return payload.sub!;
    },
  };
}

/** The SHA-256 (hex) under which a refresh token is stored. */
export function hashRefreshToken(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest('hex');
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/**
 * An `onRequest` hook that admits only requests with a valid access token
 * and sets `request.userId`. Runs before the body is read, so unauthenticated
 * uploads cost no parsing.
 *
 * @param issuer - from {@link createTokenIssuer}
 */
export function requireUser(issuer: TokenIssuer) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = bearerToken(request);
    if (token === undefined) return sendError(reply, 'unauthorized', { message: 'Missing "Authorization: Bearer <accessToken>" header.' });
    try {
      request.userId = await issuer.verify(token);
      return undefined;
    } catch (err) {
      const expired = err instanceof joseErrors.JWTExpired;
      return sendError(reply, 'unauthorized', { message: expired ? 'The access token has expired; refresh it.' : 'The access token is not valid.' });
    }
  };
}

/**
 * An `onRequest` hook that admits only `Authorization: Bearer <adminKey>`.
 * Both sides are hashed first so that the comparison takes the same time
 * whatever the length or content of the guess.
 *
 * @param adminKey - the configured admin key
 */
export function requireAdmin(adminKey: string) {
  const expected = createHash('sha256').update(adminKey).digest();
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const given = createHash('sha256').update(bearerToken(request) ?? '').digest();
    if (timingSafeEqual(given, expected)) return undefined;
    return sendError(reply, 'unauthorized', { message: 'Admin routes need "Authorization: Bearer <admin key>".' });
  };
}

/** Options of {@link registerAuthRoutes}. */
export interface AuthRouteOptions {
  store: Store;
  issuer: TokenIssuer;
  /** Whether `POST {prefix}/auth/anonymous` creates users. @default true */
  anonymous: boolean;
}

/**
 * Registers `POST /auth/anonymous` and `POST /auth/refresh` (see
 * {@link PATHS}) on `app`, under whatever prefix `app` was registered with,
 * and a JSON parser for that context that accepts an empty body.
 *
 * @param app - a fastify instance or encapsulated plugin context
 * @param options - see {@link AuthRouteOptions}
 */
export function registerAuthRoutes(app: FastifyInstance, options: AuthRouteOptions): void {
  const { store, issuer } = options;
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

  app.post(PATHS.anonymousLogin, async (_request, reply) => {
    if (!options.anonymous) return sendError(reply, 'anonymous-disabled');
    const userId = randomUUID();
    const refreshToken = randomBytes(32).toString('base64url');
    await store.createUser(userId, hashRefreshToken(refreshToken), Date.now());
    return { userId, refreshToken, ...(await issuer.issue(userId)) } satisfies Session;
  });

  app.post(PATHS.refresh, async (request, reply) => {
    const refreshToken = bearerToken(request);
    if (refreshToken === undefined) return sendError(reply, 'unauthorized', { message: 'Missing "Authorization: Bearer <refreshToken>" header.' });
    const userId = await store.findUserByRefreshTokenHash(hashRefreshToken(refreshToken));
    if (userId === undefined) return sendError(reply, 'unauthorized', { message: 'The refresh token is not valid; log in again.' });
    return { userId, refreshToken, ...(await issuer.issue(userId)) } satisfies Session;
  });
}
