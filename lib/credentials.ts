/**
 * How a client authenticates, in the manner of Realm's `Credentials`. Page
 * and service worker share the mapping from credentials to the login call.
 */
import { PATHS } from '../core/protocol.js';

/** What `open({ credentials })` accepts; build one with {@link Credentials}. */
export type IngestCredentials =
  | { readonly type: 'anonymous' }
  | { readonly type: 'api-key'; readonly key: string }
  | { readonly type: 'jwt'; readonly token: string };

/**
 * What the outbox keeps so the SW can log in again with no page open: the
 * API key itself, never a JWT (the app's identity provider issues those to
 * the page). `none` after `logOut()`: nothing uploads until `open()`.
 */
export type StoredCredentials =
  | { type: 'anonymous' }
  | { type: 'api-key'; key: string }
  | { type: 'jwt'; identity: string }
  | { type: 'none' };

/**
 * Credentials for {@link open}.
 *
 * @example
 * ```ts
 * await open({ endpoint, serviceWorker, schema, credentials: Credentials.apiKey('swi_…') });
 * await open({ endpoint, serviceWorker, schema, credentials: Credentials.jwt(await myIdp.getToken()) });
 * ```
 */
export const Credentials = {
  /** A new anonymous user per outbox (the default). */
  anonymous: (): IngestCredentials => ({ type: 'anonymous' }),
  /** A server API key (`sw-ingest keys create`). The outbox keeps it so the SW can log in again; revoking the key stops uploads. */
  apiKey: (key: string): IngestCredentials => ({ type: 'api-key', key }),
  /** A JWT from your own identity provider, checked by the server (issuer, audience, expiry, signature). Exchanged for a session; never stored. */
  jwt: (token: string): IngestCredentials => ({ type: 'jwt', token }),
} as const;

/** The login call for credentials: path and bearer token (if any). */
export function loginRequest(credentials: IngestCredentials | StoredCredentials): { path: string; bearer?: string } | undefined {
  switch (credentials.type) {
    case 'anonymous': return { path: PATHS.anonymousLogin };
    case 'api-key': return { path: PATHS.apiKeyLogin, bearer: credentials.key };
    case 'jwt': return 'token' in credentials ? { path: PATHS.jwtLogin, bearer: credentials.token } : undefined;
    case 'none': return undefined;
  }
}

/** The JWT's `iss` and `sub`, unverified (the server verifies): only to tell users apart on the device. */
function jwtIdentity(token: string): string {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { iss?: string; sub?: string };
    return `jwt:${payload.iss ?? ''}:${payload.sub ?? ''}`;
  } catch {
    return 'jwt:?';
  }
}

/** What to keep of `credentials` in the outbox. */
export function toStored(credentials: IngestCredentials): StoredCredentials {
  if (credentials.type === 'jwt') return { type: 'jwt', identity: jwtIdentity(credentials.token) };
  return credentials.type === 'api-key' ? { type: 'api-key', key: credentials.key } : { type: 'anonymous' };
}

/** Whether two stored credentials name the same user (else the old session must go). */
export function sameIdentity(a: StoredCredentials | undefined, b: StoredCredentials): boolean {
  if (!a || a.type !== b.type) return false;
  if (a.type === 'api-key') return a.key === (b as { key: string }).key;
  if (a.type === 'jwt') return a.identity === (b as { identity: string }).identity;
  return true;
}
