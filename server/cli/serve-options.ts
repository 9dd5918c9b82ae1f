/**
 * The table of `sw-ingest serve` options: the one place that says, for
 * each, its flag, environment variables, default, help and the
 * `createIngestServer` option (or listen address) it sets. The parseArgs
 * list, `serve --help` and the environment lookup are generated from it
 * (options.ts); the README's Server section is checked against it
 * (tests/unit/readme-lists-every-serve-option.test.ts).
 *
 * Rows are listed, and their values parsed, in help order.
 */
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CSP, DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_REQUEST_TIMEOUT_MS } from '../app.js';
import type { IngestServerOptions } from '../create-server.js';
import type { CustomJwtConfig } from '../custom-jwt.js';
import { DEFAULT_DB } from '../open-store.js';
import { DEFAULT_PG_POOL_MAX } from '../postgres-store.js';
import { DEFAULT_RATE_LIMITS, type RateLimitOptions } from '../rate-limits.js';
import {
  parseAudience, parseCsp, parseDb, parseLogLevel, parseOrigins, parsePoolMax, parsePort, parseTrustProxy, readJwksFile, wholeNumber,
} from './option-values.js';
import type { CliOption, HelpSection } from './options.js';

/**
 * What the rows fill in: where to listen, and the options of
 * `createIngestServer` — JWT login's four and the three rate limits field
 * by field, completed by the serve verb.
 */
export interface ServeSettings {
  listen: { port: number; host: string };
  server: Omit<IngestServerOptions, 'rateLimits' | 'customJwt'> & {
    rateLimits?: Partial<RateLimitOptions>;
    customJwt?: Partial<CustomJwtConfig>;
  };
}

/** A field a row may set, as a dotted path into {@link ServeSettings}. */
export type ServePath =
  | `listen.${keyof ServeSettings['listen']}`
  | `server.${Exclude<keyof ServeSettings['server'], 'rateLimits' | 'customJwt'>}`
  | `server.rateLimits.${keyof RateLimitOptions}`
  | `server.customJwt.${keyof CustomJwtConfig}`;

/** The type of the field at `P`. */
type ValueAt<T, P extends string> = P extends `${infer K}.${infer Rest}`
  ? K extends keyof T ? ValueAt<NonNullable<T[K]>, Rest> : never
  : P extends keyof T ? NonNullable<T[P]> : never;

/** A row whose parse function is type-checked against the field it sets. */
function row<P extends ServePath>(option: CliOption<P, ValueAt<ServeSettings, P>>): CliOption<ServePath> {
  return option;
}

const asIs = (text: string): string => text;

/** The headings of `serve --help`, in order. */
export const SERVE_SECTIONS: readonly HelpSection[] = [
  { id: 'main', title: 'Options (each also read from the environment variable shown):' },
  { id: 'jwt', title: 'JWT login (POST /api/ingest/auth/jwt) with your identity provider\'s tokens, off unless:' },
  { id: 'http', title: 'Browsers, limits and headers:' },
  { id: 'logs', title: 'Logs (fastify\'s JSON lines on stderr):' },
];

/** `--db`, which `export`, `stats` and `keys` take too ("as for serve"). */
export const DB_OPTION = row({
  flag: 'db', type: 'string', placeholder: '<url>', env: ['SW_INGEST_DB', 'DATABASE_URL'], default: DEFAULT_DB,
  help: ['sqlite:<file> or postgres://user:pw@host/db'], section: 'main', sets: 'server.db', parse: parseDb,
});

/** Every option of `sw-ingest serve`. */
export const SERVE_OPTIONS: readonly CliOption<ServePath>[] = [
  row({
    flag: 'schema', type: 'string', placeholder: '<file.json>', env: ['SW_INGEST_SCHEMA'], required: true,
    help: ['JSON array of object schemas (Realm notation)'], section: 'main', sets: 'server.schema', parse: asIs,
  }),
  row({
    flag: 'port', type: 'string', placeholder: '<n>', env: ['SW_INGEST_PORT'], default: '8080',
    help: ['port; 0 picks a free one'], section: 'main', sets: 'listen.port', parse: parsePort,
  }),
  row({
    flag: 'host', type: 'string', placeholder: '<addr>', env: ['SW_INGEST_HOST'], default: '127.0.0.1',
    help: ['address to listen on'], section: 'main', sets: 'listen.host', parse: asIs,
  }),
  DB_OPTION,
  row({
    flag: 'db-pool-max', type: 'string', placeholder: '<n>', env: ['SW_INGEST_DB_POOL_MAX'], default: String(DEFAULT_PG_POOL_MAX),
    help: ['PostgreSQL connections per server'], section: 'main', sets: 'server.dbPoolMax', parse: parsePoolMax,
  }),
  row({
    flag: 'static', type: 'string', placeholder: '<dir>', env: ['SW_INGEST_STATIC'],
    help: ['serve this directory at /'], section: 'main', sets: 'server.static', parse: asIs,
  }),
  row({
    flag: 'admin-key', type: 'string', placeholder: '<key>', env: ['SW_INGEST_ADMIN_KEY'],
    help: ['admin bearer key; else generated and stored', '(sqlite: <data-dir>/admin-key; postgres: in the database)'],
    section: 'main', sets: 'server.adminKey',
    // An empty --admin-key means none given: one is generated, as without it.
    parse: (text: string) => (text === '' ? undefined : text),
  }),
  row({
    flag: 'data-dir', type: 'string', placeholder: '<dir>', env: ['SW_INGEST_DATA_DIR'],
    help: ['sqlite: where jwt-secret and admin-key live', '(default: the database\'s directory); postgres keeps both', 'in the database, shared by every server on it'],
    section: 'main', sets: 'server.dataDir', parse: asIs,
  }),
  row({
    flag: 'demo', type: 'boolean', env: ['SW_INGEST_DEMO'], given: true, default: false,
    help: ['add the unauthenticated GET /api/demo/summary'], section: 'main', sets: 'server.demo',
  }),
  row({
    flag: 'no-anonymous', type: 'boolean', env: ['SW_INGEST_ANONYMOUS'], given: false, default: true,
    help: ['turn off anonymous login'], section: 'main', sets: 'server.anonymous',
  }),

  row({
    flag: 'jwt-secret', type: 'string', placeholder: '<s>', env: ['SW_INGEST_JWT_HS256_SECRET'],
    help: ['HS256 secret shared with it (>= 32 bytes)'], section: 'jwt', sets: 'server.customJwt.secret', parse: asIs,
  }),
  row({
    flag: 'jwks', type: 'string', placeholder: '<file.json>', env: ['SW_INGEST_JWKS'],
    help: ['or its public keys (RS*, PS*, ES*, EdDSA)'], section: 'jwt', sets: 'server.customJwt.jwks', parse: readJwksFile,
  }),
  row({
    flag: 'jwt-issuer', type: 'string', placeholder: '<iss>', env: ['SW_INGEST_JWT_ISSUER'],
    help: ['required "iss" (required with either above)'], section: 'jwt', sets: 'server.customJwt.issuer', parse: asIs,
  }),
  row({
    flag: 'jwt-audience', type: 'string', placeholder: '<a>', env: ['SW_INGEST_JWT_AUDIENCE'],
    help: ['required "aud"; a comma list accepts any'], section: 'jwt', sets: 'server.customJwt.audience', parse: parseAudience,
  }),

  row({
    flag: 'cors-origin', type: 'string', multiple: true, placeholder: '<o>', env: ['SW_INGEST_CORS_ORIGINS'], note: 'comma list',
    help: ['let pages of origin <o> call the ingest API;', 'repeat or comma-separate (same-origin always works)'],
    section: 'http', sets: 'server.corsOrigins', parse: parseOrigins,
  }),
  row({
    flag: 'body-limit', type: 'string', placeholder: '<n>', env: ['SW_INGEST_BODY_LIMIT'], default: String(DEFAULT_BODY_LIMIT_BYTES),
    help: ['largest upload body in bytes (413 above)'], section: 'http', sets: 'server.bodyLimit', parse: wholeNumber('--body-limit', 1024, 1024 ** 3),
  }),
  row({
    flag: 'max-records', type: 'string', placeholder: '<n>', env: ['SW_INGEST_MAX_RECORDS'], default: String(DEFAULT_MAX_RECORDS_PER_BATCH),
    help: ['most records per upload'], section: 'http', sets: 'server.maxRecords', parse: wholeNumber('--max-records', 1, 1_000_000),
  }),
  row({
    flag: 'rate-limit-ip', type: 'string', placeholder: '<n>', env: ['SW_INGEST_RATE_LIMIT_IP'], default: String(DEFAULT_RATE_LIMITS.perIp), note: '0: off',
    help: ['requests per minute per client IP'], section: 'http', sets: 'server.rateLimits.perIp', parse: wholeNumber('--rate-limit-ip', 0, 10_000_000),
  }),
  row({
    flag: 'rate-limit-login', type: 'string', placeholder: '<n>', env: ['SW_INGEST_RATE_LIMIT_LOGIN'], default: String(DEFAULT_RATE_LIMITS.logins), note: '0: off',
    help: ['logins per minute per client IP'], section: 'http', sets: 'server.rateLimits.logins', parse: wholeNumber('--rate-limit-login', 0, 10_000_000),
  }),
  row({
    flag: 'rate-limit-user', type: 'string', placeholder: '<n>', env: ['SW_INGEST_RATE_LIMIT_USER'], default: String(DEFAULT_RATE_LIMITS.perUser), note: '0: off',
    help: ['uploads per minute per user'], section: 'http', sets: 'server.rateLimits.perUser', parse: wholeNumber('--rate-limit-user', 0, 10_000_000),
  }),
  row({
    flag: 'trust-proxy', type: 'string', placeholder: '<v>', env: ['SW_INGEST_TRUST_PROXY'],
    help: ['behind a proxy: true, a hop count, or its', 'addresses (comma list), so limits count the client\'s IP'],
    section: 'http', sets: 'server.trustProxy', parse: parseTrustProxy,
  }),
  row({
    flag: 'request-timeout', type: 'string', placeholder: '<ms>', env: ['SW_INGEST_REQUEST_TIMEOUT'], default: String(DEFAULT_REQUEST_TIMEOUT_MS),
    help: ['time to receive a whole request (408)'], section: 'http', sets: 'server.requestTimeout', parse: wholeNumber('--request-timeout', 1000, 3_600_000),
  }),
  row({
    flag: 'csp', type: 'string', placeholder: '<policy>', env: ['SW_INGEST_CSP'],
    default: DEFAULT_CSP, shownDefault: `"${DEFAULT_CSP.split('; ').slice(0, 2).join('; ')}; …"`,
    help: ['Content-Security-Policy of every answer, or', '"off" for none'], section: 'http', sets: 'server.csp', parse: parseCsp,
  }),

  row({
    env: ['SW_INGEST_LOG_LEVEL'], type: 'string', placeholder: '<level>', default: 'warn',
    help: ['the level: fatal, error, warn, info, debug,', 'trace or silent'], section: 'logs', sets: 'server.logger', parse: parseLogLevel,
  }),
];
