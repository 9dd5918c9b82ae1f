/**
 * `createIngestHandler`: sw-ingest inside an app that is not fastify — a
 * plain `node:http` server, Express, Koa's `app.callback()` host, anything
 * that hands out Node's `(req, res)`. It is {@link ingestPlugin} in a
 * fastify instance of its own that never listens: the host's server passes
 * it the requests under the prefix (fastify's `routing`, the function
 * fastify itself gives its HTTP server), and handles every other request
 * itself. So the API, its errors and its database handling are exactly the
 * plugin's, on the host's port and origin — no second port, no proxy.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { ingestPlugin, type IngestPluginOptions } from './ingest-plugin.js';

/** Options of {@link createIngestHandler}: the plugin's, its prefix, and the two settings of the fastify instance inside. */
export interface IngestHandlerOptions extends IngestPluginOptions {
  /** Where the API lives on the host's server: the pages' `endpoint`. With `admin: true`, the admin routes are under `{prefix}/admin`. @default '/api/ingest' */
  prefix?: string;
  /**
   * fastify's `trustProxy`, for the requests passed in: behind a proxy,
   * believe `X-Forwarded-For` from it, so that rate limits count clients,
   * not the proxy (`--trust-proxy`).
   *
   * @default false
   */
  trustProxy?: boolean | number | string | string[];
  /** fastify's `logger` option, for the instance inside. @default false */
  logger?: FastifyServerOptions['logger'];
}

/** What {@link createIngestHandler} resolves to. */
export interface IngestHandler {
  /** The prefix it answers under, e.g. `/api/ingest`. */
  readonly prefix: string;
  /**
   * Answers `req` if its path is the prefix or under it, and returns true;
   * otherwise leaves `res` alone, calls `next()` when given (so it is also
   * an Express middleware) and returns false. Pass the request untouched:
   * before any body parser has read it, with its full URL.
   *
   * @param req - the host server's request
   * @param res - its response
   * @param next - called when the request is not the API's
   */
  handle(req: IncomingMessage, res: ServerResponse, next?: () => void): boolean;
  /**
   * Closes the database (after the requests in flight through this handler
   * were answered, if the host's server was closed first). Later calls do nothing.
   */
  close(): Promise<void>;
}

/**
 * Opens the database and builds the API, ready to be handed requests by a
 * plain Node HTTP server (or Express, mounted at the root without a path).
 *
 * @param options - see {@link IngestHandlerOptions}
 * @throws Error naming the option, the schema file or the database; nothing stays open
 * @example
 * ```ts
 * import http from 'node:http';
 * import { createIngestHandler } from 'sw-ingest-server';
 *
 * const ingest = await createIngestHandler({ schema: './schema.json', db: 'sqlite:./data/ingest.db' });
 * const server = http.createServer((req, res) => {
 *   if (ingest.handle(req, res)) return;
 *   res.end('my app');
 * });
 * server.listen(3000);
 * ```
 */
export async function createIngestHandler(options: IngestHandlerOptions): Promise<IngestHandler> {
  const { prefix = '/api/ingest', trustProxy = false, logger = false, ...pluginOptions } = options;
  if (!/^\/[^?#]*[^/?#]$/.test(prefix)) throw new Error(`createIngestHandler: prefix "${prefix}": expected a path such as /api/ingest (no trailing slash)`);
  const app = Fastify({
    logger,
    // fastify takes a hop count too (proxy-addr), though its types omit it.
    trustProxy: trustProxy as FastifyServerOptions['trustProxy'],
    // As createIngestServer: a request that still arrives while closing is
    // served (in the catalogue's shape), not fastify's own 503.
    return503OnClosing: false,
  });
  app.register(ingestPlugin, { ...pluginOptions, prefix });
  try {
    await app.ready();
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    prefix,
    handle(req, res, next) {
      const pathname = (req.url ?? '/').split('?')[0]!;
      if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) {
        next?.();
        return false;
      }
      app.routing(req, res);
      return true;
    },
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}
