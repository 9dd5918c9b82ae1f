/**
 * `/api/admin`: read access to the stored collections for operators, behind
 * the admin key. User access tokens never pass here.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ParsedSchema } from '../core/schema.js';
import { requireAdmin } from './auth.js';
import { sendError } from './errors.js';
import { ndjsonChunks, type EjsonFormat } from './export-format.js';
import type { IngestMetrics } from './metrics.js';
import type { Store } from './store.js';

/** Options of {@link registerAdminRoutes}. */
export interface AdminRouteOptions {
  store: Store;
  schema: ParsedSchema;
  adminKey: string;
  /** Where refused admin keys are counted. */
  metrics?: IngestMetrics | undefined;
}

/**
 * Registers, under the prefix `app` was registered with:
 * - `GET /collections/:name/count` → `{"count": n}`
 * - `GET /collections/:name/export[?format=canonical][&meta=true]` → NDJSON,
 *   one Extended JSON document per line (relaxed by default), streamed; with
 *   `meta=true` each line is `{"meta": {...}, "doc": {...}}` (see `ExportMeta`)
 *
 * A name that is not an asymmetric type of the schema answers 404 `not-found`.
 *
 * @param app - an encapsulated plugin context (the admin hook stays inside it)
 * @param options - see {@link AdminRouteOptions}
 */
export function registerAdminRoutes(app: FastifyInstance, options: AdminRouteOptions): void {
  const { store, schema } = options;
  app.addHook('onRequest', requireAdmin(options.adminKey, options.metrics));

  app.get<{ Params: { name: string } }>('/collections/:name/count', async (request, reply) => {
    const { name } = request.params;
    if (schema.get(name)?.asymmetric !== true) return sendError(reply, 'not-found', { message: `No collection "${name}".` });
    return { count: await store.count(name) };
  });

  app.get<{ Params: { name: string }; Querystring: { format?: string; meta?: string } }>('/collections/:name/export', async (request, reply) => {
    const { name } = request.params;
    if (schema.get(name)?.asymmetric !== true) return sendError(reply, 'not-found', { message: `No collection "${name}".` });
    const format = request.query.format ?? 'relaxed';
    if (format !== 'relaxed' && format !== 'canonical') {
      return sendError(reply, 'bad-request', { message: `format must be "relaxed" or "canonical", not "${String(format).slice(0, 100)}".` });
    }
    const meta = request.query.meta ?? 'false';
    if (meta !== 'true' && meta !== 'false') {
      return sendError(reply, 'bad-request', { message: `meta must be "true" or "false", not "${String(meta).slice(0, 100)}".` });
    }
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .send(Readable.from(ndjsonChunks(store.exportRows(name), { format: format as EjsonFormat, meta: meta === 'true' })));
  });
}
