/**
 * `ingestPlugin`: sw-ingest inside a team's own fastify app. A plain
 * (encapsulated) fastify plugin — deliberately not wrapped in
 * `fastify-plugin` — so that everything it adds stays in its own context
 * under its prefix: the auth routes' JSON parser, the BSON parser, CORS,
 * rate limits, request decorators, the catalogue's error and not-found
 * handlers. The host's routes, parsers, hooks and error handler are left
 * as they were. It opens its database on register and closes it with the
 * app (`onClose`).
 *
 * What a whole server adds around the API (static files, security headers
 * and CSP, request timeouts, `trustProxy`, the logger, the demo routes) is
 * the host's business: the plugin refuses those options rather than
 * silently ignoring them, naming where each belongs.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ServerLevelOptions } from './app.js';
import { installErrorHandlers } from './errors.js';
import { registerIngestApi } from './ingest-api.js';
import { openIngest, type IngestOptions } from './ingest-options.js';

/** Options of {@link ingestPlugin}, besides fastify's own `prefix` (required: the pages' `endpoint`). */
export interface IngestPluginOptions extends IngestOptions {
  /**
   * Mounts the admin routes under the plugin's prefix, behind the admin
   * key: `GET {prefix}/admin/collections/:name/count` and
   * `GET {prefix}/admin/collections/:name/export[?format=canonical][&meta=true]`,
   * and the Prometheus metrics at `GET {prefix}/admin/metrics`.
   * Off by default: they read every stored document, so a host app exposes
   * them only when it means to (`sw-ingest export` reads the database
   * directly without them).
   *
   * @default false
   */
  admin?: boolean;
}

/** Why each server-level option is not the plugin's, for the error that names it. */
const NOT_THE_PLUGINS: Record<keyof ServerLevelOptions, string> = {
  static: 'serve your site with your app (e.g. @fastify/static), or use createIngestServer',
  demo: 'the demo routes show stored data without credentials; they exist only in createIngestServer',
  csp: "security headers are your app's (e.g. @fastify/helmet)",
  trustProxy: 'pass trustProxy to your own Fastify() (rate limits then see the clients\' addresses)',
  requestTimeout: 'pass requestTimeout to your own Fastify(): it is a limit of the HTTP server',
  logger: 'the plugin logs through your app\'s logger',
};

/**
 * The sw-ingest API as a fastify plugin: `POST {prefix}/auth/*` and
 * `POST {prefix}/batches` for the pages and their service worker, and with
 * `admin: true` the admin routes under `{prefix}/admin`. Every error inside
 * the prefix (a 404 included) is answered in the sw-ingest catalogue's
 * shape; the host's own errors stay the host's.
 *
 * @param scope - the encapsulated context fastify gives the plugin
 * @param options - see {@link IngestPluginOptions}; `prefix` is required
 * @throws at register (so from `app.ready()`/`listen()`) for a missing
 *   prefix, a server-level option, a bad option, schema or database
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { ingestPlugin } from 'sw-ingest-server';
 *
 * const app = Fastify();
 * app.get('/', async () => 'my app');
 * await app.register(ingestPlugin, { prefix: '/api/ingest', schema: './schema.json', db: 'sqlite:./data/ingest.db', admin: true });
 * await app.listen({ port: 3000 });
 * ```
 */
export const ingestPlugin: FastifyPluginAsync<IngestPluginOptions> = async function ingestPlugin(
  scope: FastifyInstance, options: IngestPluginOptions,
): Promise<void> {
  if (scope.prefix === '') {
    throw new Error("ingestPlugin: register it under a prefix, the pages' endpoint, e.g. app.register(ingestPlugin, { prefix: '/api/ingest', … }); without one its not-found handler would answer for the whole app");
  }
  for (const [key, why] of Object.entries(NOT_THE_PLUGINS)) {
    if ((options as unknown as Record<string, unknown>)[key] !== undefined) throw new Error(`ingestPlugin: "${key}" is not a plugin option: ${why}`);
  }
  const opened = await openIngest(options, (err) => scope.log.error({ err }, 'sw-ingest: idle database connection failed'));
  // Runs after fastify has closed the HTTP server, i.e. after the requests in flight were answered.
  scope.addHook('onClose', async () => opened.close());
  try {
    // In this context only: the not-found handler answers for URLs under the prefix, not the host's.
    installErrorHandlers(scope);
    registerIngestApi(scope, opened.resources, options, { ingest: '', ...(options.admin === true ? { admin: '/admin', metrics: '/admin/metrics' } : {}) });
  } catch (err) {
    await opened.close();
    throw err;
  }
};
