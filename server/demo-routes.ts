/**
 * `GET /api/demo/summary` and `GET /api/demo/events` (server-sent events),
 * registered only with `--demo`: what the demo page shows records arriving with. It needs no credentials and reveals stored
 * data, so it must never be enabled on a server holding real data.
 *
 * Also the demo's "server down" switch, `POST /api/demo/outage`
 * ({@link registerDemoOutage}): uploads answered 503 as if the database
 * were down, so the page can show what devices do then without DevTools.
 */
import type { FastifyInstance } from 'fastify';
import type { Document } from 'bson';
import type { ParsedSchema } from '../core/schema.js';
import { sendError } from './errors.js';
import { docToEjsonObject } from './export-format.js';
import type { Store } from './store.js';

/** How many recent documents the summary lists. */
export const DEMO_RECENT_DOCS = 10;
/** How often the event stream looks for new documents. */
const EVENTS_CHECK_MS = 250;

/** The JSON of `GET /api/demo/summary`. */
export interface DemoSummary {
  /** Every asymmetric type of the schema → how many documents it holds. */
  collections: Record<string, number>;
  /** The last ≤10 documents received, newest first. */
  recent: { collection: string; receivedAt: number; doc: Document }[];
}

/**
 * Registers `GET /summary` under the prefix `app` was registered with.
 *
 * @param app - a fastify instance or plugin context
 * @param options - the store and the parsed schema
 */
export function registerDemoRoutes(app: FastifyInstance, options: { store: Store; schema: ParsedSchema }): void {
  const { store, schema } = options;
  const summary = async (): Promise<DemoSummary> => {
    const collections: Record<string, number> = {};
    for (const t of schema.values()) if (t.asymmetric) collections[t.name] = await store.count(t.name);
    const recent = (await store.recentDocs(DEMO_RECENT_DOCS)).map((r) => ({
      collection: r.collection,
      receivedAt: r.receivedAt,
      doc: docToEjsonObject(r.doc, 'relaxed'),
    }));
    return { collections, recent };
  };
  app.get('/summary', summary);

  // The same summary pushed as `event: summary` whenever the counts change
  // (checked every 250 ms per connection: demo-sized, not built for crowds).
  const streams = new Set<import('node:http').ServerResponse>();
  // Streams never end by themselves: end them so that shutdown is not held open.
  app.addHook('preClose', (done) => {
    for (const res of streams) res.end();
    done();
  });
  app.get('/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    let last = '';
    let busy = false;
    const push = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const body = await summary();
        const key = JSON.stringify(body.collections);
        if (key !== last) {
          last = key;
          res.write(`event: summary\ndata: ${JSON.stringify(body)}\n\n`);
        }
      } catch (err) {
        request.log.warn({ err }, 'demo events: summary failed');
      } finally {
        busy = false;
      }
    };
    void push();
    const timer = setInterval(() => void push(), EVENTS_CHECK_MS);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    streams.add(res);
    request.raw.on('close', () => {
      streams.delete(res);
      clearInterval(timer);
      clearInterval(keepAlive);
    });
  });
}

/** The state of the demo's "server down" switch. */
export interface DemoOutage {
  /** While true, uploads are answered 503 `database-unavailable`. */
  down: boolean;
}

/** Where {@link registerDemoOutage} puts the switch and which route it closes (full URLs). */
export interface DemoOutagePaths {
  /** The switch: `GET` reads it, `POST {"down": true|false}` sets it, e.g. `/api/demo/outage`. */
  outage: string;
  /** The upload route the switch refuses, e.g. `/api/ingest/batches`. */
  batches: string;
}

/**
 * The demo's "server down" switch. `POST {paths.outage}` with
 * `{"down": true}` makes every `POST {paths.batches}` answer 503
 * `database-unavailable` with `Retry-After: 2` (the catalogue's shape, via
 * `sendError`), as a lost database does, until `{"down": false}`; both
 * answer `{"down": …}`, and so does `GET`. Nothing else changes: logins,
 * the summary and its events keep working, so the page shows records
 * piling up on the device while the server count stays.
 *
 * Registered on the server's root, not in the demo routes' context: a hook
 * there could not reach the ingest routes (fastify encapsulation). The hook
 * runs before the upload route's own (auth, rate limits), so a refused
 * upload costs nothing. Like the other demo routes it needs no credentials:
 * only for `--demo`.
 *
 * @param root - the server's root instance, before it is ready
 * @param paths - see {@link DemoOutagePaths}
 * @returns the switch (off), for tests
 * @example
 * ```ts
 * registerDemoOutage(app, { outage: '/api/demo/outage', batches: '/api/ingest/batches' });
 * // curl -X POST -H 'content-type: application/json' -d '{"down": true}' localhost:8080/api/demo/outage
 * ```
 */
export function registerDemoOutage(root: FastifyInstance, paths: DemoOutagePaths): DemoOutage {
  const outage: DemoOutage = { down: false };
  root.addHook('onRequest', async (request, reply) => {
    if (outage.down && request.method === 'POST' && request.routeOptions.url === paths.batches) {
      return sendError(reply, 'database-unavailable', {
        message: `The database is unavailable: the demo's outage switch is on (POST ${paths.outage} {"down": false} turns it off); retry after the Retry-After seconds.`,
      });
    }
  });
  root.get(paths.outage, async () => ({ down: outage.down }));
  root.post<{ Body: unknown }>(paths.outage, async (request, reply) => {
    const down = (request.body as { down?: unknown } | null | undefined)?.down;
    if (typeof down !== 'boolean') {
      return sendError(reply, 'bad-request', { message: `POST ${paths.outage}: expected a JSON body {"down": true} or {"down": false}.` });
    }
    outage.down = down;
    request.log.info({ down }, 'demo outage switch');
    return { down };
  });
  return outage;
}
