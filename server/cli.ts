/**
 * The `sw-ingest` command line: `serve`, `export`, `stats`, `keys` and `help`.
 *
 * Exit codes: 0 success, 1 failure at run time (bad schema file, database,
 * port in use, no such key), 2 usage error (unknown verb or option, missing
 * option). stdout carries only the listening line (`serve`), the NDJSON
 * (`export`), the table (`stats`, `keys list`) or the new key (`keys
 * create`); everything else goes to stderr. No secret is ever printed but
 * the API key that `keys create` makes, once.
 */
import { createWriteStream, realpathSync, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { JSONWebKeySet } from 'jose';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CSP, DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_REQUEST_TIMEOUT_MS, normalizeOrigin } from './app.js';
import { generateApiKey } from './auth.js';
import { adminKeyLocation, createIngestServer } from './create-server.js';
import { createCustomJwtVerifier, type CustomJwtConfig } from './custom-jwt.js';
import { csvChunks, ndjsonChunks, receivedBetween } from './export-format.js';
import { loadSchema } from './ingest-options.js';
import { DEFAULT_DB, openStore, parseDbLocation, type DbLocation } from './open-store.js';
import { DEFAULT_PG_POOL_MAX } from './postgres-store.js';
import { DEFAULT_RATE_LIMITS, type RateLimitOptions } from './rate-limits.js';

const HELP = {
  main: `Usage: sw-ingest <command> [options]

Commands:
  serve     run the ingest backend
  export    print a collection as NDJSON (Extended JSON) or CSV, reading the database directly
  stats     print each collection's count and latest receive time
  keys      create, list or revoke API keys (credentials for devices and services)
  help      show help; "sw-ingest help <command>" for a command's options
`,
  serve: `Usage: sw-ingest serve --schema <file.json> [options]

Options (each also read from the environment variable shown):
  --schema <file>     JSON array of object schemas (Realm notation)  SW_INGEST_SCHEMA (required)
  --port <n>          port; 0 picks a free one                        SW_INGEST_PORT (default 8080)
  --host <addr>       address to listen on                           SW_INGEST_HOST (default 127.0.0.1)
  --db <url>          sqlite:<file> or postgres://user:pw@host/db     SW_INGEST_DB, else DATABASE_URL
                      (default ${DEFAULT_DB})
  --db-pool-max <n>   PostgreSQL connections per server               SW_INGEST_DB_POOL_MAX (default ${DEFAULT_PG_POOL_MAX})
  --static <dir>      serve this directory at /                      SW_INGEST_STATIC
  --admin-key <key>   admin bearer key; else generated and stored     SW_INGEST_ADMIN_KEY
                      (sqlite: <data-dir>/admin-key; postgres: in the database)
  --data-dir <dir>    sqlite: where jwt-secret and admin-key live     SW_INGEST_DATA_DIR
                      (default: the database's directory); postgres keeps both
                      in the database, shared by every server on it
  --demo              add the unauthenticated GET /api/demo/summary  SW_INGEST_DEMO=1
  --no-anonymous      turn off anonymous login                       SW_INGEST_ANONYMOUS=0

JWT login (POST /api/ingest/auth/jwt) with your identity provider's tokens, off unless:
  --jwt-secret <s>    HS256 secret shared with it (>= 32 bytes)      SW_INGEST_JWT_HS256_SECRET
  --jwks <file.json>  or its public keys (RS*, PS*, ES*, EdDSA)       SW_INGEST_JWKS
  --jwt-issuer <iss>  required "iss" (required with either above)    SW_INGEST_JWT_ISSUER
  --jwt-audience <a>  required "aud"; a comma list accepts any       SW_INGEST_JWT_AUDIENCE

Browsers, limits and headers:
  --cors-origin <o>   let pages of origin <o> call the ingest API;   SW_INGEST_CORS_ORIGINS (comma list)
                      repeat or comma-separate (same-origin always works)
  --body-limit <n>    largest upload body in bytes (413 above)       SW_INGEST_BODY_LIMIT (default ${DEFAULT_BODY_LIMIT_BYTES})
  --max-records <n>   most records per upload                        SW_INGEST_MAX_RECORDS (default ${DEFAULT_MAX_RECORDS_PER_BATCH})
  --rate-limit-ip <n>    requests per minute per client IP           SW_INGEST_RATE_LIMIT_IP (default ${DEFAULT_RATE_LIMITS.perIp}; 0: off)
  --rate-limit-login <n> logins per minute per client IP             SW_INGEST_RATE_LIMIT_LOGIN (default ${DEFAULT_RATE_LIMITS.logins}; 0: off)
  --rate-limit-user <n>  uploads per minute per user                 SW_INGEST_RATE_LIMIT_USER (default ${DEFAULT_RATE_LIMITS.perUser}; 0: off)
  --trust-proxy <v>   behind a proxy: true, a hop count, or its      SW_INGEST_TRUST_PROXY
                      addresses (comma list), so limits count the client's IP
  --request-timeout <ms> time to receive a whole request (408)       SW_INGEST_REQUEST_TIMEOUT (default ${DEFAULT_REQUEST_TIMEOUT_MS})
  --csp <policy>      Content-Security-Policy of every answer, or    SW_INGEST_CSP
                      "off" (default: ${DEFAULT_CSP.split('; ').slice(0, 2).join('; ')}; …)

  SW_INGEST_LOG_LEVEL sets the log level on stderr (default warn)

On success prints one line to stdout: sw-ingest listening on http://HOST:PORT
SIGTERM/SIGINT finish in-flight requests, close the database and exit 0.
`,
  export: `Usage: sw-ingest export --collection <name> [options]

  --collection <name>  the asymmetric type to print (required)
  --db <url>           as for serve              SW_INGEST_DB, else DATABASE_URL (default ${DEFAULT_DB})
  --format <f>         ndjson (default): one Extended JSON document per line
                       csv: a header and one row per document; needs --schema
  --schema <file>      the schema file (for csv: the columns)   SW_INGEST_SCHEMA
  --canonical          canonical Extended JSON instead of relaxed (ndjson)
  --meta               ndjson: one {"meta": {owner, clientId, ingestedAt, sentAt, receivedAt,
                       clockSkewMs}, "doc": {...}} envelope per line; csv: those columns first
  --since <time>       only documents the server received at or after <time> (ISO 8601)
  --until <time>       only documents received before <time> (ISO 8601)
  --out <file>         write to <file> instead of stdout
`,
  stats: `Usage: sw-ingest stats [--db <url>]

Prints one line per collection: name, count, latest receive time (server clock).
  --db <url>           as for serve              SW_INGEST_DB, else DATABASE_URL (default ${DEFAULT_DB})
`,
  keys: `Usage: sw-ingest keys create [--name <name>] [--db <url>]
       sw-ingest keys list [--db <url>]
       sw-ingest keys revoke <id> [--db <url>]

API keys log a client in as one user each (api-key:<id>): Credentials.apiKey(key) on the
page, or POST /api/ingest/auth/api-key with "Authorization: Bearer <key>".
  create   prints the new key on stdout, once: only its SHA-256 is stored
  list     id, name, user, created and revoked times (never the keys)
  revoke   the key stops logging in, and its sessions stop refreshing at once and
           uploading within seconds (on every server of the database)
  --db <url>           as for serve              SW_INGEST_DB, else DATABASE_URL (default ${DEFAULT_DB})
`,
} as const;

/** A usage mistake: reported with exit code 2. */
class UsageError extends Error {}

/** Runs `sw-ingest` with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...args] = argv;
  try {
    switch (verb) {
      case 'serve':
        return await serve(args);
      case 'export':
        return await exportCollection(args);
      case 'stats':
        return await printStats(args);
      case 'keys':
        return await keys(args);
      case 'help':
      case '--help':
      case '-h': {
        const topic = args[0] ?? 'main';
        if (!(topic in HELP)) throw new UsageError(`no help for "${topic}"; commands: serve, export, stats, keys, help`);
        process.stdout.write(HELP[topic as keyof typeof HELP]);
        return 0;
      }
      case undefined:
        throw new UsageError('missing command');
      default:
        throw new UsageError(`unknown command "${verb}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      process.stderr.write(`sw-ingest: ${(err as Error).message}\n${verb === 'serve' || verb === 'export' || verb === 'keys' ? HELP[verb] : HELP.main}`);
      return 2;
    }
    process.stderr.write(`sw-ingest: ${(err as Error).message}\n`);
    return 1;
  }
}

/** `node:util` parseArgs throws TypeErrors with `ERR_PARSE_ARGS_*` codes for unknown or malformed options. */
function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** An environment variable, with empty treated as unset. */
function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

function envFlag(name: string, fallback: boolean): boolean {
  const v = env(name)?.toLowerCase();
  if (v === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new UsageError(`${name}="${v}": expected 1 or 0`);
}

/** The database: `--db`, else `SW_INGEST_DB`, else `DATABASE_URL`, else {@link DEFAULT_DB}. */
function chooseDb(option: string | undefined): DbLocation {
  const fromDatabaseUrl = option === undefined && env('SW_INGEST_DB') === undefined && env('DATABASE_URL') !== undefined;
  const value = option ?? env('SW_INGEST_DB') ?? env('DATABASE_URL') ?? DEFAULT_DB;
  try {
    return parseDbLocation(value);
  } catch (err) {
    const message = (err as Error).message;
    throw new UsageError(fromDatabaseUrl ? `DATABASE_URL: ${message.replace(/^--db /, '')}` : message);
  }
}

function parsePoolMax(option: string | undefined): number | undefined {
  const text = option ?? env('SW_INGEST_DB_POOL_MAX');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 10_000) throw new UsageError(`--db-pool-max "${text}": expected 1 to 10000`);
  return n;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      'db-pool-max': { type: 'string' },
      schema: { type: 'string' },
      static: { type: 'string' },
      'admin-key': { type: 'string' },
      'data-dir': { type: 'string' },
      demo: { type: 'boolean' },
      'no-anonymous': { type: 'boolean' },
      'jwt-secret': { type: 'string' },
      jwks: { type: 'string' },
      'jwt-issuer': { type: 'string' },
      'jwt-audience': { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      'body-limit': { type: 'string' },
      'max-records': { type: 'string' },
      'rate-limit-ip': { type: 'string' },
      'rate-limit-login': { type: 'string' },
      'rate-limit-user': { type: 'string' },
      'trust-proxy': { type: 'string' },
      'request-timeout': { type: 'string' },
      csp: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP.serve);
    return 0;
  }
  const portText = values.port ?? env('SW_INGEST_PORT') ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port "${portText}": expected 0 to 65535`);
  const host = values.host ?? env('SW_INGEST_HOST') ?? '127.0.0.1';
  const db = chooseDb(values.db);
  const poolMax = parsePoolMax(values['db-pool-max']);
  const schemaFile = values.schema ?? env('SW_INGEST_SCHEMA');
  if (schemaFile === undefined) throw new UsageError('--schema <file.json> (or SW_INGEST_SCHEMA) is required');
  const staticDir = values.static ?? env('SW_INGEST_STATIC');
  const dataDir = values['data-dir'] ?? env('SW_INGEST_DATA_DIR');
  const adminKey = values['admin-key'] ?? env('SW_INGEST_ADMIN_KEY');
  const demo = values.demo === true || envFlag('SW_INGEST_DEMO', false);
  const anonymous = values['no-anonymous'] === true ? false : envFlag('SW_INGEST_ANONYMOUS', true);
  const corsOrigins = parseOrigins(values['cors-origin'] ?? (env('SW_INGEST_CORS_ORIGINS') === undefined ? [] : [env('SW_INGEST_CORS_ORIGINS')!]));
  const bodyLimit = parseCount('--body-limit', values['body-limit'] ?? env('SW_INGEST_BODY_LIMIT'), 1024, 1024 ** 3);
  const maxRecords = parseCount('--max-records', values['max-records'] ?? env('SW_INGEST_MAX_RECORDS'), 1, 1_000_000);
  const rateLimits: Partial<RateLimitOptions> = {};
  for (const [option, variable, field] of [
    ['rate-limit-ip', 'SW_INGEST_RATE_LIMIT_IP', 'perIp'],
    ['rate-limit-login', 'SW_INGEST_RATE_LIMIT_LOGIN', 'logins'],
    ['rate-limit-user', 'SW_INGEST_RATE_LIMIT_USER', 'perUser'],
  ] as const) {
    const n = parseCount(`--${option}`, values[option] ?? env(variable), 0, 10_000_000);
    if (n !== undefined) rateLimits[field] = n;
  }
  const requestTimeout = parseCount('--request-timeout', values['request-timeout'] ?? env('SW_INGEST_REQUEST_TIMEOUT'), 1000, 3_600_000);
  const trustProxy = parseTrustProxy(values['trust-proxy'] ?? env('SW_INGEST_TRUST_PROXY'));
  const cspText = values.csp ?? env('SW_INGEST_CSP');
  const csp = cspText === undefined ? undefined : cspText.toLowerCase() === 'off' ? false : cspText;
  const customJwt = await customJwtConfig(values);

  // The one composition root: the CLI only turns arguments into its options.
  const app = await createIngestServer({
    schema: schemaFile,
    db: db.kind === 'sqlite' ? `sqlite:${db.file}` : db.url,
    demo, anonymous, corsOrigins, rateLimits,
    ...(poolMax === undefined ? {} : { dbPoolMax: poolMax }),
    // An empty --admin-key means none given: one is generated, as without it.
    ...(adminKey === undefined || adminKey === '' ? {} : { adminKey }),
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(staticDir === undefined ? {} : { static: staticDir }),
    ...(customJwt === undefined ? {} : { customJwt }),
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
    ...(maxRecords === undefined ? {} : { maxRecords }),
    ...(requestTimeout === undefined ? {} : { requestTimeout }),
    ...(trustProxy === undefined ? {} : { trustProxy }),
    ...(csp === undefined ? {} : { csp }),
    logger: { level: env('SW_INGEST_LOG_LEVEL') ?? 'warn', stream: process.stderr },
  });
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close().catch(() => {}); // closes the database too
    throw err;
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  const keyLocation = adminKeyLocation(app);
  if (keyLocation === 'database') {
    process.stderr.write(`sw-ingest: admin key is in the database: SELECT value FROM sw_ingest.secrets WHERE name = 'admin-key'\n`);
  } else if (keyLocation !== undefined) {
    process.stderr.write(`sw-ingest: admin key is in ${keyLocation}\n`);
  }
  if (demo) process.stderr.write('sw-ingest: --demo: GET /api/demo/summary shows stored data without credentials\n');
  process.stdout.write(`sw-ingest listening on http://${host.includes(':') ? `[${host}]` : host}:${actualPort}\n`);

  await new Promise<void>((resolve) => {
    // Unsubscribed at the first signal, so that a second Ctrl-C kills a shutdown that hangs.
    const onSignal = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await app.close(); // stops accepting, waits for in-flight requests, then closes the database
  return 0;
}

/** A whole number option between `min` and `max`, or undefined when not given. */
function parseCount(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${name} "${text}": expected a whole number from ${min} to ${max}`);
  return n;
}

/** `--cors-origin` values (each may be a comma list) as origins. */
function parseOrigins(values: string[]): string[] {
  const origins = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  try {
    return origins.map(normalizeOrigin);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--trust-proxy`: true/false, a hop count, or addresses (comma list), as fastify takes them. */
function parseTrustProxy(text: string | undefined): boolean | number | string[] | undefined {
  if (text === undefined) return undefined;
  if (['true', 'false'].includes(text.toLowerCase())) return text.toLowerCase() === 'true';
  if (/^\d+$/.test(text)) return Number(text);
  return text.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

/** The custom JWT settings, checked; undefined when JWT login is off. */
async function customJwtConfig(values: Record<string, unknown>): Promise<CustomJwtConfig | undefined> {
  const secret = (values['jwt-secret'] as string | undefined) ?? env('SW_INGEST_JWT_HS256_SECRET');
  const jwksFile = (values.jwks as string | undefined) ?? env('SW_INGEST_JWKS');
  const issuer = (values['jwt-issuer'] as string | undefined) ?? env('SW_INGEST_JWT_ISSUER');
  const audienceText = (values['jwt-audience'] as string | undefined) ?? env('SW_INGEST_JWT_AUDIENCE');
  if (secret === undefined && jwksFile === undefined) {
    if (issuer !== undefined || audienceText !== undefined) throw new UsageError('--jwt-issuer and --jwt-audience need --jwt-secret or --jwks');
    return undefined;
  }
  if (secret !== undefined && jwksFile !== undefined) throw new UsageError('give --jwt-secret or --jwks, not both');
  if (issuer === undefined || audienceText === undefined) throw new UsageError('JWT login needs --jwt-issuer and --jwt-audience');
  const audiences = audienceText.split(',').map((a) => a.trim()).filter((a) => a !== '');
  const audience = audiences.length === 1 ? audiences[0]! : audiences;
  let config: CustomJwtConfig;
  if (secret !== undefined) {
    config = { secret, issuer, audience };
  } else {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(await fs.readFile(jwksFile!, 'utf8')) as JSONWebKeySet;
    } catch (err) {
      throw new Error(`JWKS file ${jwksFile}: ${(err as Error).message}`);
    }
    config = { jwks, issuer, audience };
  }
  try {
    createCustomJwtVerifier(config); // checks the secret's length and the keys
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return config;
}

async function exportCollection(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      db: { type: 'string' },
      collection: { type: 'string' },
      format: { type: 'string' },
      schema: { type: 'string' },
      canonical: { type: 'boolean' },
      meta: { type: 'boolean' },
      since: { type: 'string' },
      until: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP.export);
    return 0;
  }
  if (values.collection === undefined) throw new UsageError('--collection <name> is required');
  const format = values.format ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'csv') throw new UsageError(`--format must be ndjson or csv, not "${format}"`);
  const since = parseTime('--since', values.since);
  const until = parseTime('--until', values.until);
  let columns: string[] = [];
  if (format === 'csv') {
    const schemaFile = values.schema ?? env('SW_INGEST_SCHEMA');
    if (schemaFile === undefined) throw new UsageError('--format csv needs --schema <file> (its properties are the columns)');
    const type = (await loadSchema(schemaFile)).get(values.collection);
    if (!type?.asymmetric) throw new UsageError(`--collection ${values.collection}: not an asymmetric type of ${schemaFile}`);
    columns = [...type.properties.keys()];
  }
  const store = await openStore(chooseDb(values.db), { mustExist: true, poolMax: 1 });
  const out = values.out === undefined ? process.stdout : createWriteStream(values.out);
  try {
    const rows = receivedBetween(store.exportRows(values.collection), since, until);
    const chunks = format === 'csv'
      ? csvChunks(rows, columns, { meta: values.meta === true })
      : ndjsonChunks(rows, { format: values.canonical ? 'canonical' : 'relaxed', meta: values.meta === true });
    for await (const chunk of chunks) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    await store.close();
    if (out !== process.stdout) await new Promise<void>((resolve, reject) => (out as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  return 0;
}

/** An ISO 8601 time option as ms since the epoch. */
function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${name} must be a time like 2026-01-31 or 2026-01-31T12:00:00Z, not "${value}"`);
  return ms;
}

async function printStats(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { db: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP.stats);
    return 0;
  }
  const store = await openStore(chooseDb(values.db), { mustExist: true, poolMax: 1 });
  try {
    const stats = await store.collectionStats();
    const width = Math.max(10, ...stats.map((c) => c.collection.length));
    process.stdout.write(`${'collection'.padEnd(width)}  ${'count'.padStart(10)}  last received\n`);
    for (const c of stats) {
      process.stdout.write(`${c.collection.padEnd(width)}  ${String(c.count).padStart(10)}  ${new Date(c.lastReceivedAt).toISOString()}\n`);
    }
  } finally {
    await store.close();
  }
  return 0;
}

/** `sw-ingest keys create|list|revoke`. */
async function keys(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { db: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP.keys);
    return 0;
  }
  const [action, ...rest] = positionals;
  if (action === undefined) throw new UsageError('keys: missing action (create, list or revoke)');
  if (!['create', 'list', 'revoke'].includes(action)) throw new UsageError(`keys: unknown action "${action}"; expected create, list or revoke`);
  if (action !== 'create' && values.name !== undefined) throw new UsageError(`keys ${action}: --name is only for create`);
  if (action === 'revoke' ? rest.length !== 1 : rest.length !== 0) {
    throw new UsageError(action === 'revoke' ? 'keys revoke: give exactly one key id (see keys list)' : `keys ${action}: unexpected argument "${rest[0]}"`);
  }
  const name = values.name ?? '';
  if (name.length > 200 || /[\0-\x1f\x7f]/.test(name)) throw new UsageError('keys create: --name must be at most 200 characters, without control characters');
  // create may prepare a database no server has opened yet; list and revoke need an existing one.
  const store = await openStore(chooseDb(values.db), { mustExist: action !== 'create', poolMax: 1 });
  try {
    if (action === 'create') {
      const key = generateApiKey();
      await store.createApiKey({ id: key.id, name, userId: key.userId, keyHash: key.keyHash, createdAt: Date.now() });
      process.stderr.write(`sw-ingest: created API key ${key.id}${name ? ` ("${name}")` : ''} for user ${key.userId}; it is shown once, only its SHA-256 is stored\n`);
      process.stdout.write(`${key.key}\n`);
      return 0;
    }
    if (action === 'list') {
      const list = await store.listApiKeys();
      const nameWidth = Math.max(4, ...list.map((k) => k.name.length));
      process.stdout.write(`${'id'.padEnd(16)}  ${'name'.padEnd(nameWidth)}  ${'user'.padEnd(24)}  ${'created'.padEnd(24)}  revoked\n`);
      for (const k of list) {
        const revoked = k.revokedAt === null ? '-' : new Date(k.revokedAt).toISOString();
        process.stdout.write(`${k.id.padEnd(16)}  ${k.name.padEnd(nameWidth)}  ${k.userId.padEnd(24)}  ${new Date(k.createdAt).toISOString().padEnd(24)}  ${revoked}\n`);
      }
      return 0;
    }
    const id = rest[0]!;
    const result = await store.revokeApiKey(id, Date.now());
    if (result === undefined) {
      process.stderr.write(`sw-ingest: no API key "${id.slice(0, 100)}" (see sw-ingest keys list)\n`);
      return 1;
    }
    process.stderr.write(result.alreadyRevoked
      ? `sw-ingest: API key ${id} was already revoked\n`
      : `sw-ingest: revoked API key ${id} and its ${result.sessions} session(s)\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/** Whether this module is the script node was started with (not imported by bin/sw-ingest.js). */
function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
