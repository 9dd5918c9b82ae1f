// The README's Server section and the table of `sw-ingest serve` options
// (server/cli/serve-options.ts) must agree, as the error-code tables do:
// the usage block lists every flag (with its default where it is short) and
// no other, the environment paragraph every variable and no other; and the
// generated `serve --help` shows every flag and variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { helpText } from '../../server/cli/help.js';
import { SERVE_OPTIONS } from '../../server/cli/serve-options.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const server = readme.slice(readme.indexOf('\n## Server\n'), readme.indexOf('\n## ', readme.indexOf('\n## Server\n') + 1));
const usage = /```\n([\s\S]*?)```/.exec(server)![1]!;
/** The `sw-ingest serve …` lines of the usage block, up to the next command. */
const serveUsage = /^sw-ingest serve [\s\S]*?(?=^sw-ingest (?!serve))/m.exec(usage)![0]!;
const envStart = server.indexOf('Every option can also be set by environment variable');
const envParagraph = server.slice(envStart, server.indexOf('\n\n', envStart));

const flags = SERVE_OPTIONS.flatMap((row) => (row.flag === undefined ? [] : [row.flag]));
const variables = SERVE_OPTIONS.flatMap((row) => row.env ?? []);
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test(`the README's serve usage lists each flag of the table and no other: ${flags.length} flags`, () => {
  assert.ok(envStart > 0, 'the Server section has the environment paragraph');
  for (const flag of flags) assert.match(serveUsage, new RegExp(`--${escape(flag)}(?![\\w-])`), `--${flag}`);
  const listed = new Set([...serveUsage.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
  assert.deepEqual([...listed].sort(), [...new Set(flags)].sort());
});

const shortDefaults = SERVE_OPTIONS.flatMap((row) => (row.flag !== undefined && row.type === 'string' && row.multiple !== true
  && row.default !== undefined && !/\s/.test(row.default) ? [{ flag: row.flag, value: row.default }] : []));

test(`the README's serve usage shows each short default as the table has it: ${shortDefaults.length} defaults`, () => {
  for (const { flag, value } of shortDefaults) {
    assert.match(serveUsage, new RegExp(`\\[--${escape(flag)} ${escape(value)}[\\] ]`), `--${flag} ${value}`);
  }
});

test(`the README's environment paragraph lists each variable of the table and no other: ${variables.length} variables`, () => {
  for (const name of variables) assert.match(envParagraph, new RegExp(`\`${name}[\`=]`), name);
  const listed = new Set([...envParagraph.matchAll(/`((?:SW_INGEST|DATABASE)_[A-Z0-9_]+)/g)].map((m) => m[1]!));
  assert.deepEqual([...listed].sort(), [...new Set(variables)].sort());
});

test(`serve --help, generated from the table, shows every flag and variable: ${flags.length + variables.length} names`, () => {
  const help = helpText('serve');
  for (const flag of flags) assert.match(help, new RegExp(`^  --${escape(flag)}(?![\\w-])`, 'm'), `--${flag}`);
  for (const name of variables) assert.match(help, new RegExp(`\\b${name}\\b`), name);
});
