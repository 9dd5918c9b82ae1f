/**
 * The `sw-ingest` command line: picks the verb and turns what it throws
 * into an exit code. Each verb is a module of its own under cli/ (`serve`,
 * `export`, `stats`, `keys`, `help`, `version`); `serve`'s options are one
 * table (cli/serve-options.ts).
 *
 * Exit codes: 0 success, 1 failure at run time (bad schema file, database,
 * port in use, no such key or collection), 2 usage error (unknown verb or
 * option, missing option). stdout carries only the listening line
 * (`serve`), the NDJSON (`export`), the table (`stats`, `keys list`), the
 * new key (`keys create`), the help asked for and the version; everything
 * else goes to stderr. No secret is ever printed but the API key that
 * `keys create` makes, once.
 *
 * This file is also the script the tests run from source and the one
 * bin/sw-ingest.js imports from the build (dist/server/cli.js).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exportCollection } from './cli/export.js';
import { helpText, isHelpTopic, VERBS } from './cli/help.js';
import { keys } from './cli/keys.js';
import { serve } from './cli/serve.js';
import { printStats } from './cli/stats.js';
import { isParseArgsError, UsageError } from './cli/usage-error.js';
import { printVersion } from './cli/version.js';

/**
 * Runs `sw-ingest` with `argv` (without node and script).
 *
 * @param argv - the verb and its arguments
 * @returns the exit code
 * @example
 * ```ts
 * process.exitCode = await main(['stats', '--db', 'sqlite:./data/ingest.db']);
 * ```
 */
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
      case 'version':
      case '--version':
      case '-v':
        return printVersion();
      case 'help':
      case '--help':
      case '-h': {
        const topic = args[0] ?? 'main';
        if (!isHelpTopic(topic)) throw new UsageError(`no help for "${topic}"; commands: ${VERBS.join(', ')}`);
        process.stdout.write(helpText(topic));
        return 0;
      }
      case undefined:
        throw new UsageError('missing command');
      default:
        throw new UsageError(`unknown command "${verb}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      process.stderr.write(`sw-ingest: ${(err as Error).message}\n${helpText(verb !== undefined && verb !== 'main' && isHelpTopic(verb) ? verb : 'main')}`);
      return 2;
    }
    process.stderr.write(`sw-ingest: ${(err as Error).message}\n`);
    return 1;
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
