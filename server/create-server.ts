/**
 * `createIngestServer`: the composition root. Everything `sw-ingest serve`
 * runs is built here — the CLI only parses arguments and environment,
 * calls it, listens and handles signals — and so are the testing kit's
 * servers and the tests' in-process ones. It opens what the options name
 * (ingest-options.ts), builds the app on it (app.ts) and ties the two
 * lifetimes together: closing the app closes the database.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp, type ServerLevelOptions } from './app.js';
import { openIngest, type IngestOptions } from './ingest-options.js';

/** Options of {@link createIngestServer}: the ingest API's, plus what only a server of its own has. */
export interface IngestServerOptions extends IngestOptions, ServerLevelOptions {}

/** What the CLI tells the operator about a server it built; kept out of the public API. */
interface ServerInfo {
  /** Where the admin key is kept: a file, `database`, or undefined when it was given. */
  adminKeyLocation: string | undefined;
}

const infos = new WeakMap<FastifyInstance, ServerInfo>();

/**
 * Builds the whole sw-ingest server — the ingest API under `/api/ingest`,
 * the admin API under `/api/admin`, `GET /api/health`, the static site at
 * `/`, the demo routes, security headers and the CSP — on the database it
 * opens. Resolves once the database is open and migrated and the secrets
 * are loaded; the instance is not listening yet and may still be extended
 * (routes, hooks) before `listen()`. `app.close()` finishes the requests in
 * flight, then closes the database.
 *
 * @param options - see {@link IngestServerOptions}
 * @returns a fastify instance, not yet ready nor listening
 * @throws Error naming the option, the schema file or the database; nothing stays open
 * @example
 * ```ts
 * import { createIngestServer } from 'sw-ingest-server';
 *
 * const app = await createIngestServer({
 *   schema: [{ name: 'Reading', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', value: 'double' } }],
 *   db: 'sqlite:./data/ingest.db',
 *   static: './public',
 * });
 * await app.listen({ port: 8080, host: '127.0.0.1' });
 * ```
 */
export async function createIngestServer(options: IngestServerOptions): Promise<FastifyInstance> {
  // Until the app's logger exists, idle-connection errors go to stderr.
  let logIdleError = (err: Error): void => { process.stderr.write(`sw-ingest: idle database connection failed: ${err.message}\n`); };
  const opened = await openIngest(options, (err) => logIdleError(err));
  let app: FastifyInstance;
  try {
    app = buildApp({ ...options, ...opened.resources });
  } catch (err) {
    await opened.close();
    throw err;
  }
  // Runs after fastify has closed the HTTP server, i.e. after the requests in flight were answered.
  app.addHook('onClose', async () => opened.close());
  logIdleError = (err) => app.log.error({ err }, 'idle database connection failed');
  infos.set(app, { adminKeyLocation: opened.adminKeyLocation });
  return app;
}

/**
 * Where the admin key of a server built by {@link createIngestServer} is
 * kept, for the CLI's message to the operator (never the key itself).
 *
 * @param app - an instance {@link createIngestServer} resolved to
 * @returns the file, `database`, or undefined when the key was given
 */
export function adminKeyLocation(app: FastifyInstance): string | undefined {
  return infos.get(app)?.adminKeyLocation;
}
