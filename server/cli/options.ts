/**
 * Declarative command-line options: one row per option says its flag, type,
 * environment variables, default, help text, how its text is parsed and
 * which field of the verb's settings it sets. From a table of rows this
 * module generates the three things that used to be written by hand and
 * drift apart: the `node:util` parseArgs option list, the help text (with
 * the variables and defaults), and the lookup flag → environment → default.
 *
 * Precedence, for every row: the flag, else the first of its environment
 * variables that is set and not empty, else its default. A row without a
 * flag is read from the environment only (`SW_INGEST_LOG_LEVEL`).
 *
 * The table of `sw-ingest serve` is in serve-options.ts.
 */
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error.js';

/** What every row has. `P` is the path of the field it sets, e.g. `server.rateLimits.perIp`. */
interface CommonOption<P extends string> {
  /** The flag without `--`; undefined: set by environment variable only. */
  flag?: string;
  /** Environment variables read when the flag is not given, first set one wins. */
  env?: readonly string[];
  /** Help text, one entry per line (about 46 characters each). */
  help: readonly string[];
  /** Which heading of the help the row is listed under (see {@link HelpSection}). */
  section: string;
  /** The field of the settings the value goes to, as a dotted path. */
  sets: P;
}

/** A `--flag <value>` option. */
export interface StringOption<P extends string, V> extends CommonOption<P> {
  type: 'string';
  multiple?: false;
  /** Shown after the flag in help, e.g. `<n>`. */
  placeholder: string;
  /** The text used when neither the flag nor a variable is given; parsed like one. */
  default?: string;
  /** How the default is shown in help when it is too long to show as it is. @default the default */
  shownDefault?: string;
  /** Refuse to run without it (exit 2). @default false */
  required?: boolean;
  /** Said after the default in help, e.g. `0: off`. */
  note?: string;
  /**
   * Turns the text into the field's value, or throws {@link UsageError};
   * undefined leaves the field unset.
   *
   * @param text - as given
   * @param from - `--flag`, the variable's name, or `default`
   */
  parse(text: string, from: string): V | undefined | Promise<V | undefined>;
}

/** A `--flag <value>` option that may be repeated; a variable holds one (comma) list. */
export interface ListOption<P extends string, V> extends CommonOption<P> {
  type: 'string';
  multiple: true;
  placeholder: string;
  /** Said after the variable in help, e.g. `comma list`. */
  note?: string;
  /** Turns the texts (one per flag given, or the variable's one) into the value, or throws {@link UsageError}. */
  parse(texts: readonly string[], from: string): V;
}

/** A `--flag` without value; its variable takes 1/0 (also true/false, yes/no, on/off). */
export interface BooleanOption<P extends string> extends CommonOption<P> {
  type: 'boolean';
  /** The value when the flag is given (`--no-anonymous` sets `anonymous` to false). */
  given: boolean;
  /** The value when neither the flag nor a variable is given. */
  default: boolean;
}

/** One row of an option table. */
export type CliOption<P extends string = string, V = unknown> = StringOption<P, V> | ListOption<P, V> | BooleanOption<P>;

/** A heading of the help, and the rows listed under it (those whose `section` is its id). */
export interface HelpSection {
  id: string;
  title: string;
}

/** What parseArgs returned for a verb's options. */
export type ParsedValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Where one row's value came from, before parsing. */
export interface FoundOption {
  option: CliOption;
  /** `--flag`, the variable's name, or `default`. */
  from: string;
  /** The text(s) found, or the boolean. */
  value: string | readonly string[] | boolean;
}

/**
 * The parseArgs `options` of a table, plus `--help`/`-h`.
 *
 * @param table - the verb's rows
 * @example
 * ```ts
 * const { values } = parseArgs({ args, strict: true, options: parseArgsOptions(SERVE_OPTIONS) });
 * ```
 */
export function parseArgsOptions(table: readonly CliOption[]): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const row of table) {
    if (row.flag === undefined) continue;
    options[row.flag] = row.type === 'boolean' ? { type: 'boolean' } : row.multiple ? { type: 'string', multiple: true } : { type: 'string' };
  }
  return options;
}

/** Width of the help column of help, and the longest line before the environment column wraps. */
const HELP_COLUMN = 47;
const MAX_LINE = 120;

/**
 * The options part of a verb's help: per section its title, then per row
 * its flag, help, environment variables and default (on a line of its own
 * when the line would be too long), and the help's further lines under it.
 *
 * @param table - the verb's rows
 * @param sections - the headings, in order; a section without rows is left out
 */
export function formatOptionsHelp(table: readonly CliOption[], sections: readonly HelpSection[]): string {
  const left = (row: CliOption): string => (row.flag === undefined ? row.env![0]! : `--${row.flag}${row.type === 'boolean' ? '' : ` ${row.placeholder}`}`);
  const flagColumn = Math.max(...table.map((row) => left(row).length)) + 2;
  const blocks: string[] = [];
  for (const section of sections) {
    const rows = table.filter((row) => row.section === section.id);
    if (rows.length === 0) continue;
    const lines = [section.title];
    for (const row of rows) {
      const [names, notes] = environmentHelp(row);
      const oneLine = [names, notes].filter((part) => part !== '').join(' ');
      const right = 2 + flagColumn + HELP_COLUMN + oneLine.length > MAX_LINE ? [names, notes] : [oneLine];
      const count = Math.max(row.help.length, right.length);
      for (let i = 0; i < count; i++) {
        const helpPart = row.help[i] ?? '';
        const rightPart = right[i] ?? '';
        const text = rightPart === '' ? helpPart : `${helpPart.padEnd(HELP_COLUMN - 1)} ${rightPart}`;
        lines.push(`  ${(i === 0 ? left(row) : '').padEnd(flagColumn)}${text}`.trimEnd());
      }
    }
    blocks.push(lines.join('\n'));
  }
  return `${blocks.join('\n\n')}\n`;
}

/** `['SW_INGEST_DB, else DATABASE_URL', '(default sqlite:./data/ingest.db)']` and the like. */
function environmentHelp(row: CliOption): [names: string, notes: string] {
  const variables = row.flag === undefined ? (row.env ?? []).slice(1) : (row.env ?? []);
  if (row.type === 'boolean') return [variables.map((name) => `${name}=${row.given ? 1 : 0}`).join(', else '), ''];
  const notes: string[] = [];
  if (row.multiple !== true && row.required) notes.push('required');
  if (row.multiple !== true && row.default !== undefined) notes.push(`default ${row.shownDefault ?? row.default}`);
  if (row.note !== undefined) notes.push(row.note);
  return [variables.join(', else '), notes.length === 0 ? '' : `(${notes.join('; ')})`];
}

/**
 * An environment variable, with empty treated as unset.
 *
 * @param name - e.g. `SW_INGEST_PORT`
 * @param environment - @default process.env
 */
export function readEnv(name: string, environment: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = environment[name];
  return value === undefined || value === '' ? undefined : value;
}

/** 1/0 and its synonyms, for boolean rows' variables. */
function parseEnvFlag(name: string, text: string): boolean {
  const v = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new UsageError(`${name}="${v}": expected 1 or 0`);
}

/**
 * Looks every row up — its flag, else its variables, else its default — and
 * checks the required ones, without parsing yet; rows with nothing found are
 * left out. Lets a verb check which options were given together (e.g. JWT
 * login's four) before any value is parsed or file read.
 *
 * @param table - the verb's rows
 * @param values - what parseArgs returned
 * @param environment - @default process.env
 * @throws UsageError for a missing required option or a boolean variable that is not 1 or 0
 */
export function findOptions(table: readonly CliOption[], values: ParsedValues, environment: NodeJS.ProcessEnv = process.env): FoundOption[] {
  const found: FoundOption[] = [];
  for (const option of table) {
    const given = option.flag === undefined ? undefined : values[option.flag];
    if (option.type === 'boolean') {
      if (given === true) {
        found.push({ option, from: `--${option.flag}`, value: option.given });
        continue;
      }
      const name = option.env?.find((n) => readEnv(n, environment) !== undefined);
      found.push(name === undefined
        ? { option, from: 'default', value: option.default }
        : { option, from: name, value: parseEnvFlag(name, readEnv(name, environment)!) });
      continue;
    }
    if (given !== undefined) {
      found.push({ option, from: `--${option.flag}`, value: option.multiple ? (given as string[]) : (given as string) });
      continue;
    }
    const name = option.env?.find((n) => readEnv(n, environment) !== undefined);
    if (name !== undefined) {
      const text = readEnv(name, environment)!;
      found.push({ option, from: name, value: option.multiple ? [text] : text });
    } else if (option.multiple !== true && option.default !== undefined) {
      found.push({ option, from: 'default', value: option.default });
    } else if (option.multiple !== true && option.required) {
      throw new UsageError(`--${option.flag} ${option.placeholder}${option.env?.length ? ` (or ${option.env.join(' or ')})` : ''} is required`);
    }
  }
  return found;
}

/**
 * Parses what {@link findOptions} found, in table order, into one settings
 * object: each value at its row's `sets` path (`server.rateLimits.perIp`
 * becomes `{ server: { rateLimits: { perIp } } }`).
 *
 * @param found - from {@link findOptions}
 * @throws what the rows' `parse` throws (a {@link UsageError} for a bad value)
 */
export async function parseFoundOptions(found: readonly FoundOption[]): Promise<Record<string, unknown>> {
  const settings: Record<string, unknown> = {};
  for (const { option, from, value } of found) {
    const parsed = option.type === 'boolean'
      ? value
      : option.multiple
        ? option.parse(value as readonly string[], from)
        : await option.parse(value as string, from);
    if (parsed !== undefined) setPath(settings, option.sets, parsed);
  }
  return settings;
}

/** Sets `target.a.b.c = value` for the path `a.b.c`, creating the objects on the way. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys[keys.length - 1]!] = value;
}
