/**
 * How the text of an option becomes its value: the parse functions the
 * option tables name (serve-options.ts) and the verbs use. Each takes the
 * text as given and throws {@link UsageError} naming the option and the
 * text, so that a typo is exit 2 with a message, never a server that
 * starts with something else.
 */
import fs from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import { normalizeOrigin } from '../app.js';
import { parseDbLocation } from '../open-store.js';
import { UsageError } from './usage-error.js';

/**
 * A port: 0 to 65535 (0 picks a free one).
 *
 * @param text - e.g. `8080`
 */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port "${text}": expected 0 to 65535`);
  return port;
}

/**
 * PostgreSQL's most connections per server: 1 to 10000.
 *
 * @param text - e.g. `10`
 */
export function parsePoolMax(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 10_000) throw new UsageError(`--db-pool-max "${text}": expected 1 to 10000`);
  return n;
}

/**
 * A parser of whole numbers from `min` to `max`, for the option `name`.
 *
 * @param name - e.g. `--body-limit`, for the message
 * @example
 * ```ts
 * parse: wholeNumber('--max-records', 1, 1_000_000)
 * ```
 */
export function wholeNumber(name: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${name} "${text}": expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/**
 * A `--db` value, checked and made absolute: `sqlite:/abs/file` or the
 * `postgres://` URL as given. A bad `DATABASE_URL` is named as such, since
 * it was not typed for sw-ingest.
 *
 * @param text - `sqlite:<file>` or `postgres://…`
 * @param from - `--db`, `SW_INGEST_DB`, `DATABASE_URL` or `default`
 * @throws UsageError naming the value, password hidden
 */
export function parseDb(text: string, from: string): string {
  try {
    const location = parseDbLocation(text);
    return location.kind === 'sqlite' ? `sqlite:${location.file}` : location.url;
  } catch (err) {
    const message = (err as Error).message;
    throw new UsageError(from === 'DATABASE_URL' ? `DATABASE_URL: ${message.replace(/^--db /, '')}` : message);
  }
}

/**
 * `--cors-origin` values, each of which may be a comma list, as origins.
 *
 * @param texts - one per `--cors-origin` given, or the variable's one
 */
export function parseOrigins(texts: readonly string[]): string[] {
  const origins = texts.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  try {
    return origins.map(normalizeOrigin);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * `--trust-proxy`: true/false, a hop count, or addresses (comma list), as fastify takes them.
 *
 * @param text - e.g. `true`, `1` or `10.0.0.1,10.0.0.2`
 */
export function parseTrustProxy(text: string): boolean | number | string[] {
  if (['true', 'false'].includes(text.toLowerCase())) return text.toLowerCase() === 'true';
  if (/^\d+$/.test(text)) return Number(text);
  return text.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

/**
 * `--csp`: a policy, or `off` for none.
 *
 * @param text - the policy
 */
export function parseCsp(text: string): string | false {
  return text.toLowerCase() === 'off' ? false : text;
}

/**
 * `--jwt-audience`: one audience, or a comma list of which any is accepted.
 *
 * @param text - e.g. `ingest` or `ingest,ingest-staging`
 */
export function parseAudience(text: string): string | string[] {
  const audiences = text.split(',').map((a) => a.trim()).filter((a) => a !== '');
  return audiences.length === 1 ? audiences[0]! : audiences;
}

/**
 * `--jwks`: the key set in the file. Its keys are checked later, with the
 * rest of JWT login (custom-jwt.ts).
 *
 * @param file - a JSON file `{"keys": [...]}`
 * @throws Error (exit 1) naming the file when it cannot be read or parsed
 */
export async function readJwksFile(file: string): Promise<JSONWebKeySet> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as JSONWebKeySet;
  } catch (err) {
    throw new Error(`JWKS file ${file}: ${(err as Error).message}`);
  }
}

/** pino's levels, for `SW_INGEST_LOG_LEVEL`. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * `SW_INGEST_LOG_LEVEL`: fastify's logger at that level, on stderr.
 *
 * @param text - one of pino's levels
 */
export function parseLogLevel(text: string): { level: string; stream: NodeJS.WritableStream } {
  if (!LOG_LEVELS.includes(text)) throw new UsageError(`SW_INGEST_LOG_LEVEL "${text}": expected one of ${LOG_LEVELS.join(', ')}`);
  return { level: text, stream: process.stderr };
}

/**
 * An ISO 8601 time option as ms since the epoch.
 *
 * @param name - e.g. `--since`, for the message
 * @param value - as given, or undefined
 */
export function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${name} must be a time like 2026-01-31 or 2026-01-31T12:00:00Z, not "${value}"`);
  return ms;
}
