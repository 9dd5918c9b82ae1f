/**
 * The options every way in shares (`ingestPlugin`, `createIngestServer`,
 * `createIngestHandler`; `sw-ingest serve` is their command-line form), and
 * how they become what the routes serve from: the schema read and parsed,
 * the database opened and migrated, the two secrets loaded or created. The
 * only module that turns a `db` value and a data directory into a store and
 * secrets for the HTTP layer, so all three open them the same way.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseSchema, type ObjectSchema, type ParsedSchema } from '../core/schema.js';
import type { CustomJwtConfig } from './custom-jwt.js';
import { checkIngestApi, type IngestApiOptions, type IngestApiResources } from './ingest-api.js';
import { describeJsonSyntaxError } from './json-syntax-error.js';
import { openStore, parseDbLocation } from './open-store.js';
import type { RateLimitOptions } from './rate-limits.js';
import { loadServerSecrets } from './secrets.js';
import type { Store } from './store.js';

/**
 * What the ingest API is built from. Each option is a `sw-ingest serve`
 * flag in camelCase, except where noted.
 */
export interface IngestOptions extends IngestApiOptions {
  /**
   * The server's schema: the same array of object schemas (Realm notation)
   * the pages pass to `open()`, or the path of a JSON file holding it
   * (`--schema`). Uploads are re-validated against it.
   *
   * @example
   * ```ts
   * schema: [{ name: 'Reading', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', value: 'double' } }]
   * ```
   */
  schema: readonly ObjectSchema[] | string;
  /**
   * Where records, users and sessions live (`--db`): `sqlite:<file>` (one
   * machine; the file and its directory are created) or a `postgres://` URL
   * (several servers on one database; tables are created or migrated).
   * Opened when the server is built or the plugin registered, closed with
   * the fastify app.
   *
   * Advanced: an already opened {@link Store} (from `openStore`) is used as
   * it is and never closed — its opener closes it, after the app.
   *
   * @example
   * ```ts
   * db: 'sqlite:./data/ingest.db'
   * ```
   */
  db: string | Store;
  /** PostgreSQL: most connections of this server (`--db-pool-max`). Ignored for SQLite and for an opened store. @default 10 */
  dbPoolMax?: number;
  /**
   * The bearer key of the admin routes (`--admin-key`). Without it one is
   * generated on first start and kept: SQLite, in `<dataDir>/admin-key`;
   * PostgreSQL, in the database (`sw_ingest.secrets`), shared by every server.
   *
   * @default generated and stored
   */
  adminKey?: string;
  /**
   * SQLite: the directory of `jwt-secret` (the access tokens' signing key)
   * and the generated `admin-key`, both mode 0600 (`--data-dir`). PostgreSQL
   * keeps both in the database and does not use it.
   *
   * @default the SQLite file's directory; `./data` otherwise
   */
  dataDir?: string;
  /** Whether `POST {prefix}/auth/anonymous` creates users (`--no-anonymous` turns it off). @default true */
  anonymous?: boolean;
  /**
   * JWT login with your identity provider's tokens at `POST {prefix}/auth/jwt`;
   * off without it. One object for `--jwt-secret` (`secret`, HS256, at least
   * 32 bytes) or `--jwks` (`jwks`: the parsed JSON of the key set),
   * `--jwt-issuer` (`issuer`) and `--jwt-audience` (`audience`, a string or
   * a list). Grouped because they only work together, and so that the IdP's
   * secret is never mistaken for the server's own signing key.
   *
   * @default undefined (JWT login answers 403)
   * @example
   * ```ts
   * customJwt: { secret: process.env.IDP_SECRET!, issuer: 'https://id.example.com', audience: 'ingest' }
   * ```
   */
  customJwt?: CustomJwtConfig;
  /** Origins (`https://app.example.com`) whose pages may call the ingest routes cross-origin (`--cors-origin`). Same-origin always works. @default [] */
  corsOrigins?: readonly string[];
  /** Largest upload body in bytes, 413 `body-too-large` above (`--body-limit`). @default 33554432 (32 MiB) */
  bodyLimit?: number;
  /** Most records per upload, 400 `too-many-records` above (`--max-records`). @default 10000 */
  maxRecords?: number;
  /**
   * Rate limits of the ingest routes, counted in memory per server: one
   * object for `--rate-limit-ip` (`perIp`), `--rate-limit-login`
   * (`logins`) and `--rate-limit-user` (`perUser`), per `windowMs`; 0
   * turns one off, `false` all of them.
   *
   * @default { perIp: 6000, logins: 120, perUser: 6000, windowMs: 60000 }
   */
  rateLimits?: Partial<RateLimitOptions> | false;
  /** Lifetime of access tokens in seconds (no flag). @default 900 */
  accessTokenTtlSec?: number;
  /** Most time before a logout or key revocation on another server stops that session's access tokens here, ms; 0 reads the database per request (no flag). @default 2000 */
  revocationCheckIntervalMs?: number;
}

/** What {@link openIngest} opened: the routes' resources, and how to let go of them. */
export interface OpenedIngest {
  /** For `registerIngestApi`. */
  resources: IngestApiResources;
  /** Where the admin key is kept, for telling the operator: a file, `database`, or undefined when given. */
  adminKeyLocation: string | undefined;
  /** Closes the store if {@link openIngest} opened it; later calls do nothing. */
  close(): Promise<void>;
}

/**
 * Reads and parses the schema, checks the options, then opens the store
 * and loads (or creates) the secrets. Nothing is opened when a check fails,
 * and nothing stays open when a later step fails.
 *
 * @param options - see {@link IngestOptions}
 * @param onIdleError - PostgreSQL: where errors of idle connections go
 * @throws Error naming the option, the schema file or the database (never a password)
 * @example
 * ```ts
 * const opened = await openIngest({ schema: 'schema.json', db: 'sqlite:./data/ingest.db' }, (err) => log.error(err));
 * ```
 */
export async function openIngest(options: IngestOptions, onIdleError: (err: Error) => void): Promise<OpenedIngest> {
  if (options.adminKey === '') throw new Error('sw-ingest: adminKey must not be empty; leave it out to have one generated');
  const schema = await loadSchema(options.schema);
  // The secrets are not known yet: stand-ins, so that every other option is checked before the database is touched.
  checkIngestApi(options, { schema, adminKey: '-', jwtSecret: '-' });
  const given = typeof options.db === 'string' ? undefined : options.db;
  const location = given === undefined ? parseDbLocation(options.db as string) : undefined;
  const dataDir = options.dataDir ?? (location?.kind === 'sqlite' ? path.dirname(location.file) : './data');
  const store = given ?? await openStore(location!, {
    ...(options.dbPoolMax === undefined ? {} : { poolMax: options.dbPoolMax }),
    onIdleError,
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed || given !== undefined) return;
    closed = true;
    await store.close();
  };
  try {
    const secrets = await loadServerSecrets(dataDir, options.adminKey, store);
    return {
      resources: { store, schema, adminKey: secrets.adminKey, jwtSecret: secrets.jwtSecret },
      adminKeyLocation: secrets.adminKeyLocation,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The schema as parsed: from the array, or read from a JSON file.
 *
 * @param schema - an array of object schemas, or a file path
 * @throws Error naming the file and the problem; for a syntax error, its line and column
 * @example
 * ```ts
 * const schema = await loadSchema('demo/schema.json');
 * ```
 */
export async function loadSchema(schema: readonly ObjectSchema[] | string): Promise<ParsedSchema> {
  if (typeof schema !== 'string') return parseSchema(schema as ObjectSchema[]);
  let text: string;
  try {
    text = await fs.readFile(schema, 'utf8');
  } catch (err) {
    throw new Error(`schema file ${schema}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`schema file ${schema}: ${describeJsonSyntaxError(text, err as Error)}`);
  }
  try {
    return parseSchema(json as ObjectSchema[]);
  } catch (err) {
    throw new Error(`schema file ${schema}: ${(err as Error).message}`);
  }
}
