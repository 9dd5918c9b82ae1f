/**
 * The HTTP application, without a listening socket: the CLI calls `listen`,
 * tests call `inject`. Routes:
 *
 * | route | auth | answer |
 * |---|---|---|
 * | `POST /api/ingest/auth/anonymous` | none | `Session` (403 `anonymous-disabled` when off) |
 * | `POST /api/ingest/auth/refresh` | refresh token | `Session` |
 * | `POST /api/ingest/batches` | access token | `UploadReply`, after commit |
 * | `GET /api/admin/collections/:name/count` | admin key | `{"count": n}` |
 * | `GET /api/admin/collections/:name/export[?format=canonical][&meta=true]` | admin key | NDJSON (Extended JSON) |
 * | `GET /api/demo/summary` | none, only with `demo: true` | `DemoSummary` |
 * | `GET /api/health` | none | `{"ok": true}` |
 * | `GET /*` | none, only with `staticDir` | files; service worker scripts with `Cache-Control: no-cache` |
 */
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ParsedSchema } from '../lib/schema.js';
import { registerAdminRoutes } from './admin-routes.js';
import { createTokenIssuer, DEFAULT_ACCESS_TOKEN_TTL_SEC, registerAuthRoutes } from './auth.js';
import { registerDemoRoutes } from './demo-routes.js';
import { installErrorHandlers } from './errors.js';
import { registerIngestRoute } from './ingest-route.js';
import type { Store } from './store.js';

/** Where each group of routes is mounted. The ingest prefix is the client's `endpoint`. */
export const ROUTE_PREFIXES = { ingest: '/api/ingest', admin: '/api/admin', demo: '/api/demo', health: '/api/health' } as const;

/** Default upload body limit: 32 MiB, two maximal BSON documents. */
export const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;
/** Default most records per upload. */
export const DEFAULT_MAX_RECORDS_PER_BATCH = 10_000;

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
  const issuer = createTokenIssuer(options.jwtSecret, options.accessTokenTtlSec ?? DEFAULT_ACCESS_TOKEN_TTL_SEC);

  const app = Fastify({
    logger: options.logger ?? false,
    // fastify's own 503 while closing has a body outside the catalogue; instead,
    // requests that still arrive on open connections are served: the store is
    // closed only after app.close() has resolved.
    return503OnClosing: false,
  });
  installErrorHandlers(app);

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
    registerAuthRoutes(ingest, { store, issuer, anonymous: options.anonymous ?? true });
    registerIngestRoute(ingest, {
      store, schema, issuer,
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
      setHeaders(reply, file) {
        if (SERVICE_WORKER_FILE.test(path.basename(file))) reply.header('cache-control', 'no-cache');
      },
    });
  }
  return app;
}
