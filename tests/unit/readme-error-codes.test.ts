// The README's "Error codes" section and the code must list the same codes
// (as fastify checks its Errors.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../../core/errors.js';
import { RECORD_REJECTION_CODES, SERVER_ERRORS } from '../../core/protocol.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Codes in the table rows (`| \`code\` | …`) under a heading. */
function codesUnder(heading: string): string[] {
  const start = readme.indexOf(heading);
  assert.ok(start >= 0, `README has a "${heading}" section`);
  const rest = readme.slice(start + heading.length);
  const end = rest.search(/\n#{2,4} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]!);
}

test('README lists every page error code, and only those', () => {
  assert.deepEqual(codesUnder('### Page errors (`IngestError.code`)').sort(), Object.keys(ERROR_CODES).sort());
});

test('README lists every server error code with its HTTP status, and only those', () => {
  const listed = codesUnder('### Server errors (`error.code` in JSON bodies)');
  assert.deepEqual([...listed].sort(), Object.keys(SERVER_ERRORS).sort());
  for (const [code, { status }] of Object.entries(SERVER_ERRORS)) {
    assert.match(readme, new RegExp(`^\\| \`${code}\` \\| ${status} \\|`, 'm'), `${code} is listed with status ${status}`);
  }
});

test('README lists every record verdict code, and only those; none is also an HTTP error code unless both lists say so', () => {
  assert.deepEqual(codesUnder('### Record verdicts (`code` of a rejected record)').sort(), Object.keys(RECORD_REJECTION_CODES).sort());
  assert.equal('owner-mismatch' in SERVER_ERRORS, false, 'owner-mismatch is a verdict on a record, never an HTTP answer');
});
