/**
 * The help texts of `sw-ingest` and its verbs (`sw-ingest help <verb>`,
 * `<verb> --help`, and after a usage error). `serve`'s options are
 * generated from its table (serve-options.ts); the other verbs have a few
 * options each, written out here.
 */
import { DEFAULT_DB } from '../open-store.js';
import { formatOptionsHelp } from './options.js';
import { SERVE_OPTIONS, SERVE_SECTIONS } from './serve-options.js';

/** The verbs, in the order the main help lists them. */
export const VERBS = ['serve', 'export', 'stats', 'keys', 'help', 'version'] as const;

/** What `help <topic>` accepts: a verb, or nothing for the main help. */
export type HelpTopic = 'main' | Exclude<(typeof VERBS)[number], 'help' | 'version'>;

const DB_LINE = `  --db <url>           as for serve              SW_INGEST_DB, else DATABASE_URL (default ${DEFAULT_DB})`;

const HELP: Record<HelpTopic, () => string> = {
  main: () => `Usage: sw-ingest <command> [options]

Commands:
  serve     run the ingest backend
  export    print a collection as NDJSON (Extended JSON) or CSV, reading the database directly
  stats     print each collection's count and latest receive time
  keys      create, list or revoke API keys (credentials for devices and services)
  help      show help; "sw-ingest help <command>" for a command's options
  version   print the version of sw-ingest-server (also --version, -v)
`,
  serve: () => `Usage: sw-ingest serve --schema <file.json> [options]

${formatOptionsHelp(SERVE_OPTIONS, SERVE_SECTIONS)}
On success prints one line to stdout: sw-ingest listening on http://HOST:PORT
SIGTERM/SIGINT finish in-flight requests, close the database and exit 0.
`,
  export: () => `Usage: sw-ingest export --collection <name> [options]

  --collection <name>  the asymmetric type to print (required)
${DB_LINE}
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
  stats: () => `Usage: sw-ingest stats [--db <url>]

Prints one line per collection: name, count, latest receive time (server clock).
${DB_LINE}
`,
  keys: () => `Usage: sw-ingest keys create [--name <name>] [--db <url>]
       sw-ingest keys list [--db <url>]
       sw-ingest keys revoke <id> [--db <url>]

API keys log a client in as one user each (api-key:<id>): Credentials.apiKey(key) on the
page, or POST /api/ingest/auth/api-key with "Authorization: Bearer <key>".
  create   prints the new key on stdout, once: only its SHA-256 is stored
  list     id, name, user, created and revoked times (never the keys)
  revoke   the key stops logging in, and its sessions stop refreshing at once and
           uploading within seconds (on every server of the database)
${DB_LINE}
`,
};

/**
 * Whether `topic` names a help text.
 *
 * @param topic - what followed `sw-ingest help`
 */
export function isHelpTopic(topic: string): topic is HelpTopic {
  return Object.hasOwn(HELP, topic);
}

/**
 * The help text of `topic`.
 *
 * @param topic - a verb, or `main`
 */
export function helpText(topic: HelpTopic): string {
  return HELP[topic]();
}
