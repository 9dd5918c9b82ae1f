/**
 * The routes of sw-ingest on an opened store, registered into whatever
 * fastify context they are given: the one implementation behind every way
 * in — `ingestPlugin` (a host's app), `createIngestServer` and `sw-ingest
 * serve` (a whole server), `createIngestHandler` (a plain Node server).
 *
 * It owns what the ingest API is: CORS and rate limits of the ingest
 * routes, the auth routes, the upload route, the admin and demo routes
 * where the caller mounts them, and hanging up keep-alive connections once
 * the app is closing. It knows nothing of ports, static files, security
 * headers or error handlers: those belong to the context it is given
 * (the server's root, or the plugin's own encapsulated context).
 */
import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { schemaFingerprints } from '../core/schema-fingerprint.js';
import type { ParsedSchema } from '../core/schema.js';
import { registerAdminRoutes } from './admin-routes.js';
import {
  createTokenIssuer, DEFAULT_ACCESS_TOKEN_TTL_SEC, DEFAULT_REVOCATION_CHECK_INTERVAL_MS, registerAuthRoutes, requireAdmin, RevocationList,
} from './auth.js';
import { createCustomJwtVerifier } from './custom-jwt.js';
import { registerDemoRoutes } from './demo-routes.js';
import type { IngestOptions } from './ingest-options.js';
import { OWNER_FIELD, registerIngestRoute } from './ingest-route.js';
import { IngestMetrics } from './metrics.js';
import { DEFAULT_RATE_LIMITS, installRateLimits } from './rate-limits.js';
import type { Store } from './store.js';

/** Default upload body limit: 32 MiB, two maximal BSON documents. */
export const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;
/** Default most records per upload. */
export const DEFAULT_MAX_RECORDS_PER_BATCH = 10_000;

/**
 * The options of the ingest API itself, the same whichever way it is
 * mounted. `IngestOptions` (ingest-options.ts) documents each for users.
 */
export type IngestApiOptions = Pick<
  IngestOptions, 'anonymous' | 'customJwt' | 'corsOrigins' | 'bodyLimit' | 'maxRecords' | 'rateLimits' | 'accessTokenTtlSec' | 'revocationCheckIntervalMs'
>;

/** What {@link registerIngestApi} serves from: an opened store, the parsed schema and the two secrets. */
export interface IngestApiResources {
  /** Where records and users are kept. Never closed here. */
  store: Store;
  /** The server's schema; uploads are re-validated against it. */
  schema: ParsedSchema;
  /** The bearer key of the admin routes. */
  adminKey: string;
  /** The HS256 key of access tokens. */
  jwtSecret: string;
}

/** Where each group of routes goes, relative to the context's own prefix; an absent group is not mounted. */
export interface IngestApiMounts {
  /** The ingest routes (`/auth/*`, `/batches`): the pages' `endpoint`. */
  ingest: string;
  /** The admin routes (`/collections/:name/count|export`). */
  admin?: string;
  /** The demo routes (`/summary`, `/events`): unauthenticated, for the demo server only. */
  demo?: string;
  /** `GET` of the Prometheus metrics (`metrics.ts`), behind the admin key, at this path. */
  metrics?: string;
}

/**
 * Checks what can be checked without I/O, so that a bad option throws
 * before a database is opened: the admin key and signing secret are not
 * empty, CORS origins are origins, the custom JWT settings hold, a declared
 * `_owner` is a string.
 *
 * @param options - the API's options
 * @param resources - the store, schema and secrets (the store is not touched)
 * @throws Error naming the option
 */
export function checkIngestApi(options: IngestApiOptions, resources: Pick<IngestApiResources, 'schema' | 'adminKey' | 'jwtSecret'>): void {
  if (resources.adminKey === '') throw new Error('sw-ingest: adminKey must not be empty');
  if (resources.jwtSecret === '') throw new Error('sw-ingest: the access-token secret must not be empty');
  checkOwnerFields(resources.schema);
  for (const origin of options.corsOrigins ?? []) normalizeOrigin(origin);
  if (options.customJwt !== undefined) createCustomJwtVerifier(options.customJwt);
}

/**
 * Registers the ingest API into `scope`, each group of routes in a child
 * context of its own under the prefix `mounts` gives it, and the hook that
 * hangs up keep-alive connections once closing on `scope` itself. Adds no
 * error handler and no parser, hook or decorator to `scope`'s parents.
 *
 * @param scope - the root of a server, or a plugin's encapsulated context
 * @param resources - see {@link IngestApiResources}
 * @param options - see {@link IngestApiOptions}
 * @param mounts - see {@link IngestApiMounts}
 * @throws Error synchronously for what {@link checkIngestApi} refuses
 * @example
 * ```ts
 * registerIngestApi(app, { store, schema, adminKey, jwtSecret }, {}, { ingest: '/api/ingest', admin: '/api/admin' });
 * ```
 */
export function registerIngestApi(
  scope: FastifyInstance, resources: IngestApiResources, options: IngestApiOptions, mounts: IngestApiMounts,
): void {
  checkIngestApi(options, resources);
  const { store, schema } = resources;
  const corsOrigins = [...(options.corsOrigins ?? [])].map(normalizeOrigin);
  const customJwt = options.customJwt === undefined ? undefined : createCustomJwtVerifier(options.customJwt);
  const issuer = createTokenIssuer(resources.jwtSecret, options.accessTokenTtlSec ?? DEFAULT_ACCESS_TOKEN_TTL_SEC);
  const revocations = new RevocationList(
    store, issuer.ttlSec * 1000, options.revocationCheckIntervalMs ?? DEFAULT_REVOCATION_CHECK_INTERVAL_MS,
  );
  const metrics = new IngestMetrics();
  const rateLimits = options.rateLimits === false
    ? { perIp: 0, perUser: 0, logins: 0, windowMs: DEFAULT_RATE_LIMITS.windowMs }
    : { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };

  // Shutdown: in-flight requests finish, but a browser whose worker keeps
  // its keep-alive connection busy would hold app.close() open forever;
  // once closing, every answer tells the client to hang up.
  let closing = false;
  scope.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  scope.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('Connection', 'close');
    return payload;
  });

  scope.register(async (ingest) => {
    // CORS first, so that every answer below (401, 429 included) carries its
    // headers and the service worker can read it. A preflight from a listed
    // origin is answered 204; from any other, 404 with no CORS headers.
    if (corsOrigins.length > 0) {
      const allowed = new Set(corsOrigins);
      await ingest.register(fastifyCors, {
        origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
        methods: ['POST'],
        allowedHeaders: ['Authorization', 'Content-Type'],
        exposedHeaders: ['Retry-After'],
        maxAge: 600,
        strictPreflight: true,
      });
    }
    const limits = await installRateLimits(ingest, rateLimits);
    ingest.addHook('onRequest', limits.perIp);
    registerAuthRoutes(ingest, {
      store, issuer, revocations, customJwt, anonymous: options.anonymous ?? true, loginHooks: [limits.logins],
      schemaFingerprints: await schemaFingerprints(schema), metrics,
    });
    registerIngestRoute(ingest, {
      store, schema, issuer, revocations,
      userHooks: [limits.perUser],
      bodyLimitBytes: options.bodyLimit ?? DEFAULT_BODY_LIMIT_BYTES,
      maxRecordsPerBatch: options.maxRecords ?? DEFAULT_MAX_RECORDS_PER_BATCH,
      metrics,
    });
  }, { prefix: mounts.ingest });

  if (mounts.admin !== undefined) {
    scope.register(async (admin) => registerAdminRoutes(admin, { store, schema, adminKey: resources.adminKey, metrics }), { prefix: mounts.admin });
  }
  if (mounts.metrics !== undefined) {
    const path = mounts.metrics;
    scope.register(async (context) => {
      context.addHook('onRequest', requireAdmin(resources.adminKey, metrics));
      context.get(path, async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
    });
  }
  if (mounts.demo !== undefined) {
    scope.register(async (demo) => registerDemoRoutes(demo, { store, schema }), { prefix: mounts.demo });
  }
}

/**
 * `https://app.example.com` from a configured origin, refusing what is not
 * an origin (a path, `*`, a bare host), so that a typo does not silently
 * allow nothing — or everything.
 *
 * @param value - e.g. `https://app.example.com`
 * @throws Error naming the value
 * @example
 * ```ts
 * normalizeOrigin('https://app.example.com/'); // 'https://app.example.com'
 * ```
 */
export function normalizeOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`CORS origin "${value}": expected scheme://host[:port], e.g. https://app.example.com`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.origin === 'null' || value.replace(/\/$/, '') !== url.origin) {
    throw new Error(`CORS origin "${value}": expected scheme://host[:port] (http or https, no path), e.g. https://app.example.com`);
  }
  return url.origin;
}

/** A type that declares `_owner` must declare it as a single string (the uploading user's id). */
function checkOwnerFields(schema: ParsedSchema): void {
  for (const type of schema.values()) {
    const prop = type.properties.get(OWNER_FIELD);
    if (prop !== undefined && (prop.type !== 'string' || prop.collection !== 'none')) {
      throw new Error(`schema: ${type.name}.${OWNER_FIELD} claims the record's owner and must be "string" or "string?", not ${prop.collection === 'none' ? `"${prop.type}"` : `a ${prop.collection}`}`);
    }
  }
}
