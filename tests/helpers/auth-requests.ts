/**
 * The credential routes as the service worker calls them, through
 * `app.inject()`: login (anonymous, API key, JWT), refresh, logout.
 */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { PATHS } from '../../core/protocol.js';

/** POSTs `path` under the ingest prefix with an optional bearer token and extra headers. */
export function postAuth(
  app: FastifyInstance, path: string, bearer?: string, headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: `/api/ingest${path}`,
    headers: { ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }), ...headers },
  });
}

export const loginApiKey = (app: FastifyInstance, key?: string) => postAuth(app, PATHS.apiKeyLogin, key);
export const loginJwt = (app: FastifyInstance, token?: string) => postAuth(app, PATHS.jwtLogin, token);
export const refresh = (app: FastifyInstance, refreshToken?: string) => postAuth(app, PATHS.refresh, refreshToken);
export const logout = (app: FastifyInstance, refreshToken?: string) => postAuth(app, PATHS.logout, refreshToken);

/** Asserts a 401 `unauthorized` in the catalogue's shape, with `WWW-Authenticate: Bearer`. */
export function assertUnauthorized(res: LightMyRequestResponse, what = ''): void {
  assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
  assert.equal(res.headers['www-authenticate'], 'Bearer', what);
  assert.equal((res.json() as { error: { code: string } }).error.code, 'unauthorized', what);
}

/** An unsigned token (`alg: none`) with the given claims. */
export function unsignedToken(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'none', typ: 'JWT' }): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64(header)}.${b64(claims)}.`;
}
