/**
 * `sw-ingest --version`: the version in sw-ingest-server's package.json,
 * read when asked. The file is found by walking up from this module, as it
 * sits at different depths from source (`server/cli/`), from the build
 * (`server/dist/server/cli/`) and in the installed package
 * (`node_modules/sw-ingest-server/dist/server/cli/`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package whose version is printed. */
const PACKAGE_NAME = 'sw-ingest-server';

/**
 * The version of the sw-ingest-server package this module belongs to.
 *
 * @throws Error when no package.json named sw-ingest-server is above this module
 * @example
 * ```ts
 * readServerVersion() // '0.1.0'
 * ```
 */
export function readServerVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    try {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === PACKAGE_NAME && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No package.json here, or not JSON: keep looking further up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json of ${PACKAGE_NAME} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/**
 * Prints `sw-ingest-server <version>` to stdout.
 *
 * @returns the exit code, 0
 */
export function printVersion(): number {
  process.stdout.write(`${PACKAGE_NAME} ${readServerVersion()}\n`);
  return 0;
}
