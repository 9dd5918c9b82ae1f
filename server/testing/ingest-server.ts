/**
 * An ingest server for an app's own tests: in-process, on a free port of
 * 127.0.0.1, with a SQLite database in a temporary directory that `stop()`
 * removes. Built on `createIngestServer`, the one composition root, so it is
 * the server the app deploys, with the app's schema and site.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EJSON, type Document } from 'bson';
import type { ObjectSchema } from '../../core/schema.js';
import { createIngestServer, type IngestServerOptions } from '../index.js';

/**
 * Options of {@link startIngestServer}: `schema` and `static`, and any
 * other option of `createIngestServer` (`csp`, `customJwt`, `corsOrigins`,
 * …) but the database's, which is always a fresh temporary SQLite file.
 */
export interface IngestTestServerOptions extends Omit<IngestServerOptions, 'schema' | 'static' | 'db' | 'dbPoolMax' | 'dataDir'> {
  /**
   * The app's schema: the array it passes to `open()`, or the path (or
   * `file:` URL) of a JSON file holding it. A relative path is resolved
   * against the current directory.
   */
  schema: readonly ObjectSchema[] | string | URL;
  /** A directory (path or `file:` URL) to serve at `/`: the app's site, with `sw-ingest.iife.js` and `sw-ingest-sw.js` in it. */
  static?: string | URL;
  /** The bearer key of `/api/admin`. @default a random key, in `IngestTestServer.adminKey` */
  adminKey?: string;
  /** Rate limits of the ingest routes. @default false (a test's pages all come from 127.0.0.1, and fast) */
  rateLimits?: IngestServerOptions['rateLimits'];
}

/** A running ingest server; see {@link startIngestServer}. */
export interface IngestTestServer {
  /** Its origin, e.g. `http://127.0.0.1:41234`: the app's site is at `${url}/`, the ingest API at `/api/ingest`. */
  readonly url: string;
  /** The admin key, for requests of your own to `/api/admin`. */
  readonly adminKey: string;
  /** Documents stored in `collection` (an asymmetric type of the schema). */
  count(collection: string): Promise<number>;
  /**
   * Every document stored in `collection`, with exact BSON types (`ObjectId`,
   * `Long`, `Double`, `Decimal128`, `Date`, …), read from the admin export.
   */
  exportDocs(collection: string): Promise<Document[]>;
  /**
   * Resolves when `collection` holds `n` documents; rejects after
   * `timeoutMs`, or at once when it holds more than `n`.
   *
   * @param options.timeoutMs - @default 30000
   */
  waitForCount(collection: string, n: number, options?: { timeoutMs?: number }): Promise<void>;
  /** Closes the server and its database and removes the temporary directory. Later calls do nothing. */
  stop(): Promise<void>;
}

/** How often {@link IngestTestServer.waitForCount} asks. */
const POLL_INTERVAL_MS = 100;
/** Default of {@link IngestTestServer.waitForCount}'s `timeoutMs`. */
const DEFAULT_WAIT_MS = 30_000;

/**
 * Starts an ingest server for a test.
 *
 * @param options - see {@link IngestTestServerOptions}
 * @example
 * ```ts
 * const server = await startIngestServer({ schema: 'schema.json', static: 'site' });
 * await page.goto(server.url);
 * // … the app ingests …
 * await server.waitForCount('Note', 10);
 * await server.stop();
 * ```
 */
export async function startIngestServer(options: IngestTestServerOptions): Promise<IngestTestServer> {
  const { schema: given, static: site, ...rest } = options;
  const schema = typeof given === 'string' || given instanceof URL ? toPath(given) : given;
  const adminKey = options.adminKey ?? randomBytes(24).toString('base64url');
  const dir = await mkdtemp(path.join(tmpdir(), 'sw-ingest-test-'));
  let app: Awaited<ReturnType<typeof createIngestServer>>;
  try {
    app = await createIngestServer({
      rateLimits: false,
      ...rest,
      schema,
      db: `sqlite:${path.join(dir, 'ingest.db')}`,
      dataDir: dir,
      adminKey,
      ...(site === undefined ? {} : { static: toPath(site) }),
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (err) {
    await app.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('startIngestServer: the server has no TCP address');
  const url = `http://127.0.0.1:${address.port}`;

  /** GET /api/admin/collections/<collection><rest>, answered without a socket. */
  async function admin(collection: string, rest: string): Promise<string> {
    const url = `/api/admin/collections/${encodeURIComponent(collection)}${rest}`;
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${adminKey}` } });
    if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`);
    return res.body;
  }
  const count = async (collection: string): Promise<number> =>
    (JSON.parse(await admin(collection, '/count')) as { count: number }).count;

  let stopped: Promise<void> | undefined;
  return {
    url,
    adminKey,
    count,
    async exportDocs(collection) {
      const body = await admin(collection, '/export?format=canonical');
      return body.split('\n').filter((line) => line !== '').map((line) => EJSON.parse(line, { relaxed: false }) as Document);
    },
    async waitForCount(collection, n, { timeoutMs = DEFAULT_WAIT_MS } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await count(collection);
        if (now === n) return;
        if (now > n) throw new Error(`waitForCount("${collection}", ${n}): the server holds ${now} documents, more than ${n}`);
        if (Date.now() >= deadline) throw new Error(`waitForCount("${collection}", ${n}): the server holds ${now} documents after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
      }
    },
    stop() {
      return (stopped ??= app.close().then(() => rm(dir, { recursive: true, force: true })));
    },
  };
}

function toPath(p: string | URL): string {
  return path.resolve(p instanceof URL ? fileURLToPath(p) : p);
}
