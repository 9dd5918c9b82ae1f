/**
 * The `sw-ingest` command line: `serve`, `export` and `help`.
 *
 * Exit codes: 0 success, 1 failure at run time (bad schema file, database,
 * port in use), 2 usage error (unknown verb or option, missing option).
 * stdout carries only the listening line (`serve`) or the NDJSON (`export`);
 * everything else goes to stderr.
 */
import { createWriteStream, realpathSync, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSchema, type ObjectSchema, type ParsedSchema } from '../lib/schema.js';
import { buildApp } from './app.js';
import { csvChunks, ndjsonChunks, receivedBetween } from './export-format.js';
import { DEFAULT_DB, openStore, parseDbLocation, type DbLocation } from './open-store.js';
import { DEFAULT_PG_POOL_MAX } from './postgres-store.js';
import { loadServerSecrets } from './secrets.js';

const HELP = {
  main: `Usage: sw-ingest <command> [options]

Commands:
  serve     run the ingest backend
  export    print a collection as NDJSON (Extended JSON) or CSV, reading the database directly
  stats     print each collection's count and latest receive time
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
      case 'help':
      case '--help':
      case '-h': {
        const topic = args[0] ?? 'main';
        if (!(topic in HELP)) throw new UsageError(`no help for "${topic}"; commands: serve, export, stats, help`);
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
      process.stderr.write(`sw-ingest: ${(err as Error).message}\n${verb === 'serve' || verb === 'export' ? HELP[verb] : HELP.main}`);
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

async function loadSchemaFile(file: string): Promise<ParsedSchema> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`schema file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseSchema(json as ObjectSchema[]);
  } catch (err) {
    throw new Error(`schema file ${file}: ${(err as Error).message}`);
  }
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
  const dataDir = values['data-dir'] ?? env('SW_INGEST_DATA_DIR') ?? (db.kind === 'sqlite' ? path.dirname(db.file) : './data');
  const demo = values.demo === true || envFlag('SW_INGEST_DEMO', false);
  const anonymous = values['no-anonymous'] === true ? false : envFlag('SW_INGEST_ANONYMOUS', true);

  const schema = await loadSchemaFile(schemaFile);
  // Until the app's logger exists, idle-connection errors go to stderr.
  let logIdleError = (err: Error): void => { process.stderr.write(`sw-ingest: idle database connection failed: ${err.message}\n`); };
  const store = await openStore(db, { ...(poolMax === undefined ? {} : { poolMax }), onIdleError: (err) => logIdleError(err) });
  let secrets;
  try {
    secrets = await loadServerSecrets(dataDir, values['admin-key'] ?? env('SW_INGEST_ADMIN_KEY'), store);
  } catch (err) {
    await store.close();
    throw err;
  }
  const app = buildApp({
    store, schema, demo, anonymous,
    adminKey: secrets.adminKey,
    jwtSecret: secrets.jwtSecret,
    ...(staticDir === undefined ? {} : { staticDir }),
    logger: { level: env('SW_INGEST_LOG_LEVEL') ?? 'warn', stream: process.stderr },
  });
  logIdleError = (err) => app.log.error({ err }, 'idle database connection failed');
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close().catch(() => {});
    await store.close();
    throw err;
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  if (secrets.adminKeyLocation === 'database') {
    process.stderr.write(`sw-ingest: admin key is in the database: SELECT value FROM sw_ingest.secrets WHERE name = 'admin-key'\n`);
  } else if (secrets.adminKeyLocation !== undefined) {
    process.stderr.write(`sw-ingest: admin key is in ${secrets.adminKeyLocation}\n`);
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
  await app.close(); // stops accepting, waits for in-flight requests
  await store.close();
  return 0;
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
    const type = (await loadSchemaFile(schemaFile)).get(values.collection);
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
