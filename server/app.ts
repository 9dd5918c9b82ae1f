/**
 * The whole server as one fastify instance, without a listening socket:
 * the ingest API (ingest-api.ts) at its fixed prefixes, plus what only a
 * server of its own has — security headers and the CSP on every answer,
 * the health route, static files, the catalogue's error and not-found
 * handlers for every URL, and the time limits of its HTTP server.
 * `createIngestServer` (create-server.ts) opens the store and secrets and
 * calls {@link buildApp}; tests that bring their own store and secrets call
 * it directly. Routes:
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
 * | `GET /*` | none, only with `static` | files; service worker scripts with `Cache-Control: no-cache` |
 *
 * Around them: security headers on every answer (helmet, with a strict
 * Content-Security-Policy for the static site unless replaced), CORS on the
 * ingest routes for the listed origins only, rate limits per IP and per
 * user on the ingest routes, and time limits for receiving a request.
 * docs/security.md has the threat model.
 */
import path from 'node:path';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { PATHS } from '../core/protocol.js';
import { registerDemoOutage } from './demo-routes.js';
import { clientErrorHandler, installErrorHandlers } from './errors.js';
import { registerIngestApi, type IngestApiOptions, type IngestApiResources } from './ingest-api.js';

export { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_MAX_RECORDS_PER_BATCH, normalizeOrigin } from './ingest-api.js';

/** Where each group of routes is mounted. The ingest prefix is the client's `endpoint`. */
export const ROUTE_PREFIXES = { ingest: '/api/ingest', admin: '/api/admin', demo: '/api/demo', health: '/api/health', metrics: '/metrics' } as const;

/** Default time to receive a whole request (headers and body), in ms: twice the service worker's own upload timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Default time a connection may sit idle (no bytes either way) before it is closed, in ms. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 120_000;

/**
 * The default Content-Security-Policy of every answer: the static site's
 * own scripts, styles, images, workers and fetches only; no plugins, no
 * framing, no inline script. A site that needs more (inline scripts, an
 * ingest endpoint on another origin) sets its own with `csp`.
 */
export const DEFAULT_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "worker-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

/**
 * What only a server of its own has: its site, its headers, its HTTP
 * server's limits and its log. `ingestPlugin` accepts none of them: inside
 * a host's app they are the host's (see its TSDoc).
 */
export interface ServerLevelOptions {
  /**
   * A directory to serve at `/` (`--static`): `index.html`, the pages'
   * scripts, the service worker (sent with `Cache-Control: no-cache`).
   * Dotfiles are never served.
   *
   * @default undefined (no site)
   * @example
   * ```ts
   * static: './public'
   * ```
   */
  static?: string;
  /**
   * Adds `GET /api/demo/summary` and `GET /api/demo/events` (`--demo`):
   * counts and the latest stored documents, without credentials. For the
   * demo only, never on a server holding real data.
   *
   * @default false
   */
  demo?: boolean;
  /**
   * The Content-Security-Policy header of every answer (`--csp`), or
   * `false` for none. A site with inline scripts, or pages that call an
   * ingest endpoint on another origin, needs its own.
   *
   * @default DEFAULT_CSP (`default-src 'self'; script-src 'self'; …`)
   * @example
   * ```ts
   * csp: "default-src 'self'; connect-src 'self' https://ingest.example.com"
   * ```
   */
  csp?: string | false;
  /**
   * fastify's `trustProxy` (`--trust-proxy`): behind a proxy, believe
   * `X-Forwarded-For` from it — `true`, a hop count, or its addresses or
   * CIDRs — so that rate limits count clients, not the proxy.
   *
   * @default false
   */
  trustProxy?: boolean | number | string | string[];
  /** Time to receive a whole request (headers and body), ms; 408 `request-timeout` after it (`--request-timeout`). @default 60000 */
  requestTimeout?: number;
  /**
   * fastify's `logger` option (the CLI: warn level to stderr, `SW_INGEST_LOG_LEVEL`).
   * No secret, token or database password is ever logged.
   *
   * @default false
   * @example
   * ```ts
   * logger: { level: 'info' }
   * ```
   */
  logger?: FastifyServerOptions['logger'];
}

/** Options of {@link buildApp}: an opened store and the secrets, the ingest API's options and the server's own. */
export type AppOptions = IngestApiResources & IngestApiOptions & ServerLevelOptions;

/** Service worker scripts must be revalidated on every load, or updates stall. */
const SERVICE_WORKER_FILE = /(^|[-.])(sw|service-worker)\.js$/;

/**
 * Builds the fastify application (routes in the table above). It never
 * closes `options.store`: `createIngestServer` does, with the app.
 *
 * @param options - see {@link AppOptions}
 * @throws Error synchronously for a bad option (an empty key, a CORS origin that is not one, a bad `_owner`)
 * @example
 * ```ts
 * const app = buildApp({ store, schema: parseSchema(json), adminKey, jwtSecret });
 * const res = await app.inject({ method: 'GET', url: '/api/health' });
 * ```
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const { store, schema, adminKey, jwtSecret } = options;
  const requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: options.logger ?? false,
    // fastify's own 503 while closing has a body outside the catalogue; instead,
    // requests that still arrive on open connections are served: the store is
    // closed only after app.close() has closed the server.
    return503OnClosing: false,
    requestTimeout,
    // Node checks request timeouts every 30 s by default: a short limit would
    // be overshot by up to that much. Headers count against the same limit.
    http: { connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))), headersTimeout: Math.min(60_000, requestTimeout) },
    connectionTimeout: DEFAULT_CONNECTION_TIMEOUT_MS,
    clientErrorHandler,
    // fastify takes a hop count too (proxy-addr), though its types omit it.
    trustProxy: (options.trustProxy ?? false) as FastifyServerOptions['trustProxy'],
  });
  installErrorHandlers(app);

  // Security headers on every answer, API and static files alike. HSTS is
  // left to the proxy that terminates TLS; the CSP is set below as one string.
  app.register(fastifyHelmet, { contentSecurityPolicy: false, strictTransportSecurity: false });
  const csp = options.csp ?? DEFAULT_CSP;
  if (csp !== false && csp !== '') {
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('content-security-policy', csp);
    });
  }

  registerIngestApi(app, { store, schema, adminKey, jwtSecret }, options, {
    ingest: ROUTE_PREFIXES.ingest,
    admin: ROUTE_PREFIXES.admin,
    metrics: ROUTE_PREFIXES.metrics,
    ...(options.demo === true ? { demo: ROUTE_PREFIXES.demo } : {}),
  });
  // The demo's "server down" switch refuses uploads from a root hook: the demo routes' context cannot reach them.
  if (options.demo === true) registerDemoOutage(app, { outage: `${ROUTE_PREFIXES.demo}/outage`, batches: `${ROUTE_PREFIXES.ingest}${PATHS.batches}` });
  app.get(ROUTE_PREFIXES.health, async () => ({ ok: true }));

  if (options.static !== undefined) {
    app.register(fastifyStatic, {
      root: path.resolve(options.static),
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
