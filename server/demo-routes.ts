/**
 * `GET /api/demo/summary`, registered only with `--demo`: what the demo page
 * polls to show records arriving. It needs no credentials and reveals stored
 * data, so it must never be enabled on a server holding real data.
 */
import type { FastifyInstance } from 'fastify';
import type { Document } from 'bson';
import type { ParsedSchema } from '../lib/schema.js';
import { docToEjsonObject } from './export-format.js';
import type { Store } from './store.js';

/** How many recent documents the summary lists. */
export const DEMO_RECENT_DOCS = 10;

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
  app.get('/summary', async (): Promise<DemoSummary> => {
    const collections: Record<string, number> = {};
    for (const t of schema.values()) if (t.asymmetric) collections[t.name] = await store.count(t.name);
    const recent = (await store.recentDocs(DEMO_RECENT_DOCS)).map((r) => ({
      collection: r.collection,
      receivedAt: r.receivedAt,
      doc: docToEjsonObject(r.doc, 'relaxed'),
    }));
    return { collections, recent };
  });
}
