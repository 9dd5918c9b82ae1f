/**
 * sw-ingest's own access tokens: short-lived HS256 JWTs (`sub` = user id,
 * `sid` = session id, `iss` = {@link TOKEN_ISSUER}), signed and checked
 * without a database read. Its own module so that the custom-JWT verifier,
 * which must refuse tokens of this issuer, and the auth routes both depend
 * on it rather than on each other.
 */
import { SignJWT, jwtVerify } from 'jose';

/** `iss` of every access token. */
export const TOKEN_ISSUER = 'sw-ingest';
/** Default lifetime of an access token. */
export const DEFAULT_ACCESS_TOKEN_TTL_SEC = 15 * 60;

/** What a valid access token says. */
export interface AccessClaims {
  userId: string;
  sessionId: string;
}

/** Signs and checks access tokens. */
export interface TokenIssuer {
  /** A new access token for a session and when it expires (ms since the epoch). */
  issue(userId: string, sessionId: string): Promise<{ accessToken: string; accessTokenExpiresAt: number }>;
  /** The claims of a valid token; throws jose's error for an invalid or expired one. */
  verify(token: string): Promise<AccessClaims>;
  /** Lifetime of the tokens it issues, in seconds. */
  readonly ttlSec: number;
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
    ttlSec: accessTokenTtlSec,
    async issue(userId, sessionId) {
      const exp = Math.floor(Date.now() / 1000) + accessTokenTtlSec;
      const accessToken = await new SignJWT({ sid: sessionId })
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
      // Tokens of version 1 carry no sid: their session id is the anonymous user's id.
      const sid = typeof payload.sid === 'string' ? payload.sid : payload.sub!;
      return { userId: payload.sub!, sessionId: sid };
    },
  };
}
