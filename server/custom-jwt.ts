/**
 * Custom JWT login: tokens from the app's own identity provider, exchanged
 * at `POST {prefix}/auth/jwt` for a session of the user `jwt:<iss>:<sub>`.
 *
 * The verifier pins everything an attacker could otherwise choose:
 * - the algorithms: `HS256` only with a shared secret; only asymmetric
 *   algorithms (RSA, RSA-PSS, ECDSA, EdDSA) with a JWKS, so an HS256 token
 *   "signed" with a JWKS public key as its HMAC secret (algorithm
 *   confusion) is refused, and `alg: none` never verifies;
 * - the keys: a JWKS file read at start; token headers such as `jku`, `x5u`
 *   or `jwk` are never followed;
 * - the claims: `iss` and `aud` must equal the configured ones, `sub` and
 *   `exp` must be present, `exp`/`nbf` are checked with 30 s of clock
 *   tolerance.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { TOKEN_ISSUER } from './access-tokens.js';

/** How the server checks app JWTs (`--jwt-secret` or `--jwks`, with `--jwt-issuer`, `--jwt-audience`). */
export interface CustomJwtConfig {
  /** An HS256 secret shared with the identity provider (at least 32 bytes). */
  secret?: string;
  /** The identity provider's public keys (RSA, EC or OKP; no private parts, no symmetric keys). */
  jwks?: JSONWebKeySet;
  /** The required `iss`. */
  issuer: string;
  /** The required `aud` (one of them, when a list). */
  audience: string | string[];
}

/** The asymmetric JWS algorithms accepted with a JWKS: never HMAC, never `none`. */
export const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Shortest accepted HS256 secret, in bytes (RFC 7518 §3.2: at least the hash size). */
export const MIN_HS256_SECRET_BYTES = 32;
/** Longest `iss` or `sub` accepted into a user id. */
const MAX_CLAIM_CHARS = 256;

/** Checks an app JWT and resolves to its user id, or throws (jose's errors, or Error for a bad claim). */
export type CustomJwtVerifier = (token: string) => Promise<string>;

/**
 * Validates `config` and returns the verifier.
 *
 * @throws Error naming the problem: neither or both of secret and JWKS, a short secret, an empty
 *   or unsuitable JWKS (private or symmetric keys), a missing issuer or audience
 */
export function createCustomJwtVerifier(config: CustomJwtConfig): CustomJwtVerifier {
  const { secret, jwks, issuer, audience } = config;
  if ((secret === undefined) === (jwks === undefined)) throw new Error('custom JWT: give either an HS256 secret or a JWKS, not both');
  if (issuer === '') throw new Error('custom JWT: the issuer (--jwt-issuer) is required');
  if (issuer === TOKEN_ISSUER) throw new Error(`custom JWT: the issuer must not be "${TOKEN_ISSUER}", the issuer of sw-ingest's own access tokens`);
  if (audience === '' || (Array.isArray(audience) && (audience.length === 0 || audience.includes('')))) {
    throw new Error('custom JWT: the audience (--jwt-audience) is required');
  }
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (secret !== undefined) {
    key = new TextEncoder().encode(secret);
    if (key.length < MIN_HS256_SECRET_BYTES) throw new Error(`custom JWT: the HS256 secret must be at least ${MIN_HS256_SECRET_BYTES} bytes`);
    algorithms = ['HS256'];
  } else {
    checkJwks(jwks!);
    key = createLocalJWKSet(jwks!);
    algorithms = JWKS_ALGORITHMS;
  }
  return async (token) => {
    const { payload } = await jwtVerify(token, key as Uint8Array, {
      issuer, audience, algorithms, requiredClaims: ['iss', 'sub', 'aud', 'exp'], clockTolerance: 30,
    });
    const { iss, sub } = payload as { iss: string; sub: string };
    if (typeof sub !== 'string' || sub === '' || sub.length > MAX_CLAIM_CHARS || iss.length > MAX_CLAIM_CHARS || /\0/.test(sub + iss)) {
      throw new Error('the token\'s "sub" must be a string of 1 to 256 characters without NUL');
    }
    return `jwt:${iss}:${sub}`;
  };
}

/** Refuses JWKS files that are empty, hold private or symmetric keys, or keys of an unknown type. */
function checkJwks(jwks: JSONWebKeySet): void {
  if (jwks === null || typeof jwks !== 'object' || !Array.isArray(jwks.keys) || jwks.keys.length === 0) {
    throw new Error('custom JWT: the JWKS must be {"keys": [...]} with at least one key');
  }
  for (const [i, k] of jwks.keys.entries()) {
    const where = `custom JWT: JWKS key ${i}${typeof k?.kid === 'string' ? ` ("${k.kid}")` : ''}`;
    if (k === null || typeof k !== 'object') throw new Error(`${where} is not an object`);
    if (k.kty === 'oct') throw new Error(`${where} is a symmetric key; use --jwt-secret for HS256`);
    if (!['RSA', 'EC', 'OKP'].includes(String(k.kty))) throw new Error(`${where} has kty "${String(k.kty)}"; expected RSA, EC or OKP`);
    if ('d' in k || 'p' in k || 'q' in k) throw new Error(`${where} holds a private key; the JWKS must hold public keys only`);
    if (k.alg !== undefined && !JWKS_ALGORITHMS.includes(k.alg)) throw new Error(`${where} has alg "${k.alg}"; expected one of ${JWKS_ALGORITHMS.join(', ')}`);
  }
}
