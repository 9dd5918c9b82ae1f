// What a TypeScript user of sw-ingest sees is what dist/types holds: the
// public API, with IngestClient as a type (clients come from open()) and
// without its constructor or its @internal plumbing. Reads the declarations
// the build emitted (`npm run build` first).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/server.js';

const TYPES = join(ROOT, 'dist/types/lib');

describe('the published declarations', { skip: existsSync(TYPES) ? false : 'npm run build first' }, () => {
  const index = readFileSync(join(TYPES, 'index.d.ts'), 'utf8');
  const client = readFileSync(join(TYPES, 'client.d.ts'), 'utf8');

  it('export IngestClient as a type only, and open() as the way to get one: 2 exports', () => {
    assert.match(index, /^export type \{ IngestClient \} from '\.\/client\.js';$/m);
    assert.match(index, /^export \{ open \} from '\.\/open\.js';$/m);
    assert.doesNotMatch(index, /^export \{[^}]*\bIngestClient\b[^}]*\} from/m);
  });

  it('leave out the constructor and the members marked @internal: 0 of 4 found', () => {
    const classBody = client.slice(client.indexOf('export declare class IngestClient'));
    assert.ok(classBody.length > 0, 'IngestClient is declared');
    const leaked = ['constructor(', 'wake(', 'reportSchemaMismatch(', 'warnEndpoint('].filter((m) => classBody.includes(m));
    assert.deepEqual(leaked, []);
    assert.doesNotMatch(client, /@internal/);
  });

  it('keep the public methods of a client: 14 found', () => {
    const methods = ['on', 'ingest', 'pending', 'flush', 'stats', 'pause', 'resume', 'rejected', 'retryRejected', 'discardRejected', 'logOut', 'close'];
    for (const m of methods) assert.match(client, new RegExp(`\\b${m}[<(]`), m);
    assert.match(client, /readonly registration: ServiceWorkerRegistration/);
    assert.match(client, /ingest<N extends AsymmetricName<S>>/);
  });
});
