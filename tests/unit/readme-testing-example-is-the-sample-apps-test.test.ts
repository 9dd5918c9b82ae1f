// The README's "Testing your app" example must run as written: it is the
// sample app's test (tests/sample-app/tests/notes.spec.ts), which
// `npm run test:sample-app` runs against the packed tarballs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ROOT } from '../helpers/server.js';

test('the README example of the testing kit is the sample app\'s test, byte for byte', () => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  const start = readme.indexOf('\n## Testing your app\n');
  assert.ok(start >= 0, 'README has a "Testing your app" section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const example = /```ts\n(import \{ test, expect \} from 'sw-ingest-server\/testing';\n[\s\S]*?)```/.exec(section)?.[1];
  assert.ok(example, 'the section has a ts block that imports the kit');
  assert.equal(example, readFileSync(`${ROOT}/tests/sample-app/tests/notes.spec.ts`, 'utf8'));
});
