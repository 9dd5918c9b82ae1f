/**
 * `GET /api/demo/summary` and `GET /api/demo/events` (server-sent events),
 * registered only with `--demo`: what the demo page shows records arriving with. It needs no credentials and reveals stored
 * data, so it must never be enabled on a server holding real data.
 */
import type { FastifyInstance } from 'fastify';
import type { Document } from 'bson';
import type { ParsedSchema } from '../core/schema.js';
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
