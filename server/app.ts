/**
 * The HTTP application, without a listening socket: the CLI calls `listen`,
 * tests call `inject`. Routes:
 *
 * | route | auth | answer |
 * |---|---|---|
 * | `POST /api/ingest/auth/anonymous` | none | `Session` (403 `anonymous-disabled` when off) |
 * | `POST /api/ingest/auth/api-key` | API key | `Session` for the key's user |
 * | `POST /api/ingest/auth/jwt` | the app's JWT | `Session` for `jwt:<iss>:<sub>` (403 when not configured) |
 * | `POST /api/ingest/auth/refresh` | refresh token | `Session` |
 * | `POST /api/ingest/auth/logout` | refresh token | 204; the session is revoked |
 * | `POST /api/ingest/batches` | access token | `UploadReply`, after commit |
 * | `GET /api/admin/collections/:name/count` | admin key | `{"count": n}` |
 * | `GET /api/admin/collections/:name/export[?format=canonical][&meta=true]` | admin key | NDJSON (Extended JSON) |
 * | `GET /api/demo/summary` | none, only with `demo: true` | `DemoSummary` |
 * | `GET /api/health` | none | `{"ok": true}` |
 * | `GET /*` | none, only with `staticDir` | files; service worker scripts with `Cache-Control: no-cache` |
 *
 * Around them: security headers on every answer (helmet, with a strict
 * Content-Security-Policy for the static site unless replaced), CORS on the
 * ingest routes for the listed origins only, rate limits per IP and per
 * user on the ingest routes, and time limits for receiving a request.
 * docs/security.md has the threat model.
 */
import path from 'node:path';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { schemaFingerprints } from '../core/schema-fingerprint.js';
import type { ParsedSchema } from '../core/schema.js';
import { registerAdminRoutes } from './admin-routes.js';
import {
  createTokenIssuer, DEFAULT_ACCESS_TOKEN_TTL_SEC, DEFAULT_REVOCATION_CHECK_INTERVAL_MS, registerAuthRoutes, RevocationList,
} from './auth.js';
import { createCustomJwtVerifier, type CustomJwtConfig } from './custom-jwt.js';
import { registerDemoRoutes } from './demo-routes.js';
import { clientErrorHandler, installErrorHandlers } from './errors.js';
import { OWNER_FIELD, registerIngestRoute } from './ingest-route.js';
import { DEFAULT_RATE_LIMITS, installRateLimits, type RateLimitOptions } from './rate-limits.js';
import type { Store } from './store.js';

/** Where each group of routes is mounted. The ingest prefix is the client's `endpoint`. */
export const ROUTE_PREFIXES = { ingest: '/api/ingest', admin: '/api/admin', demo: '/api/demo', health: '/api/health' } as const;

/** Default upload body limit: 32 MiB, two maximal BSON documents. */
export const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;
/** Default most records per upload. */
export const DEFAULT_MAX_RECORDS_PER_BATCH = 10_000;
/** Default time to receive a whole request (headers and body), in ms: twice the service worker's own upload timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Default time a connection may sit idle (no bytes either way) before it is closed, in ms. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 120_000;

/**
 * The default Content-Security-Policy of every answer: the static site's
 * own scripts, styles, images, workers and fetches only; no plugins, no
 * framing, no inline script. A site that needs more (inline scripts, an
 * ingest endpoint on another origin) sets its own with `contentSecurityPolicy`.
 */
export const DEFAULT_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "worker-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

/** Options of {@link buildApp}. */
export interface AppOptions {
  /** Where records and users are kept. The app never closes it. */
  store: Store;
  /** The server's schema (from `parseSchema`); uploads are re-validated against it. */
  schema: ParsedSchema;
  /** The bearer key of `/api/admin`. */
  adminKey: string;
  /** The HS256 key of access tokens. */
  jwtSecret: string;
  /** A directory to serve at `/` (index.html), e.g. the built demo. */
  staticDir?: string;
  /** Adds the unauthenticated `GET /api/demo/summary`. @default false */
  demo?: boolean;
  /** Whether `POST /api/ingest/auth/anonymous` creates users. @default true */
  anonymous?: boolean;
  /** Largest upload body. @default 33554432 (32 MiB) */
  bodyLimitBytes?: number;
  /** Most records per upload. @default 10000 */
  maxRecordsPerBatch?: number;
  /** Lifetime of access tokens in seconds. @default 900 */
  accessTokenTtlSec?: number;
  /** Most time before a logout or a revoked API key elsewhere stops the session's access tokens here (ms); 0 reads the database per request. @default 2000 */
  revocationCheckIntervalMs?: number;
  /** JWT login with the app's own identity provider (`POST /api/ingest/auth/jwt`); off without it. */
  customJwt?: CustomJwtConfig;
  /** Origins (`https://app.example.com`) whose pages may call the ingest API cross-origin. Same-origin always works. @default [] */
  corsOrigins?: readonly string[];
  /** Rate limits of the ingest API (see `rate-limits.ts`); `false` turns them all off. @default DEFAULT_RATE_LIMITS */
  rateLimits?: Partial<RateLimitOptions> | false;
  /** Time to receive a whole request, ms; 408 `request-timeout` after it. @default 60000 */
  requestTimeoutMs?: number;
  /** Time a connection may sit idle, ms. @default 120000 */
  connectionTimeoutMs?: number;
  /** The Content-Security-Policy header, or `false` for none. @default DEFAULT_CSP */
  contentSecurityPolicy?: string | false;
  /** fastify's `trustProxy`: believe `X-Forwarded-For` from these proxies (true, a hop count, addresses or CIDRs), so rate limits count clients, not the proxy. @default false */
  trustProxy?: boolean | number | string | string[];
  /** fastify's logger option. @default false */
  logger?: FastifyServerOptions['logger'];
}

/** Service worker scripts must be revalidated on every load, or updates stall. */
const SERVICE_WORKER_FILE = /(^|[-.])(sw|service-worker)\.js$/;

/**
 * Builds the fastify application (routes in the table above).
 *
 * @param options - see {@link AppOptions}
 * @example
 * ```ts
 * const app = buildApp({ store, schema: parseSchema(json), adminKey, jwtSecret });
 * const res = await app.inject({ method: 'GET', url: '/api/health' });
 * ```
 */
export function buildApp(options: AppOptions): FastifyInstance {
  if (options.adminKey === '') throw new Error('buildApp: adminKey must not be empty');
  if (options.jwtSecret === '') throw new Error('buildApp: jwtSecret must not be empty');
  const { store, schema } = options;
  checkOwnerFields(schema);
  const corsOrigins = [...(options.corsOrigins ?? [])].map(normalizeOrigin);
  const customJwt = options.customJwt === undefined ? undefined : createCustomJwtVerifier(options.customJwt);
  const issuer = createTokenIssuer(options.jwtSecret, options.accessTokenTtlSec ?? DEFAULT_ACCESS_TOKEN_TTL_SEC);
  const revocations = new RevocationList(
    store, issuer.ttlSec * 1000, options.revocationCheckIntervalMs ?? DEFAULT_REVOCATION_CHECK_INTERVAL_MS,
  );
  const rateLimits = options.rateLimits === false
    ? { perIp: 0, perUser: 0, logins: 0, windowMs: DEFAULT_RATE_LIMITS.windowMs }
    : { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };

  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: options.logger ?? false,
    // fastify's own 503 while closing has a body outside the catalogue; instead,
    // requests that still arrive on open connections are served: the store is
    // closed only after app.close() has resolved.
    return503OnClosing: false,
    requestTimeout,
    // Node checks request timeouts every 30 s by default: a short limit would
    // be overshot by up to that much. Headers count against the same limit.
    http: { connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))), headersTimeout: Math.min(60_000, requestTimeout) },
    connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    clientErrorHandler,
    // fastify takes a hop count too (proxy-addr), though its types omit it.
    trustProxy: (options.trustProxy ?? false) as FastifyServerOptions['trustProxy'],
  });
  installErrorHandlers(app);

  // Security headers on every answer, API and static files alike. HSTS is
  // left to the proxy that terminates TLS; the CSP is set below as one string.
  app.register(fastifyHelmet, { contentSecurityPolicy: false, strictTransportSecurity: false });
  const csp = options.contentSecurityPolicy ?? DEFAULT_CSP;
  if (csp !== false && csp !== '') {
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('content-security-policy', csp);
    });
  }

  // Shutdown: in-flight requests finish, but a browser whose worker keeps
  // its keep-alive connection busy would hold app.close() open forever;
  // once closing, every answer tells the client to hang up.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('Connection', 'close');
    return payload;
  });

  app.get(ROUTE_PREFIXES.health, async () => ({ ok: true }));

  app.register(async (ingest) => {
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
      schemaFingerprints: await schemaFingerprints(schema),
    });
    registerIngestRoute(ingest, {
      store, schema, issuer, revocations,
      userHooks: [limits.perUser],
      bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
      maxRecordsPerBatch: options.maxRecordsPerBatch ?? DEFAULT_MAX_RECORDS_PER_BATCH,
    });
  }, { prefix: ROUTE_PREFIXES.ingest });

  app.register(async (admin) => registerAdminRoutes(admin, { store, schema, adminKey: options.adminKey }), { prefix: ROUTE_PREFIXES.admin });

  if (options.demo) {
    app.register(async (demo) => registerDemoRoutes(demo, { store, schema }), { prefix: ROUTE_PREFIXES.demo });
  }

  if (options.staticDir !== undefined) {
    app.register(fastifyStatic, {
      root: path.resolve(options.staticDir),
      prefix: '/',
      // Never serve dotfiles (.env, .git): 404 like any missing file.
      dotfiles: 'deny',
      setHeaders(reply, file) {
        if (SERVICE_WORKER_FILE.test(path.basename(file))) reply.header('cache-control', 'no-cache');
      },
    });
  }
  return app;
}

/**
 * `https://app.example.com` from a configured origin, refusing what is not
 * an origin (a path, `*`, a bare host), so that a typo does not silently
 * allow nothing — or everything.
 *
 * @throws Error naming the value
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
