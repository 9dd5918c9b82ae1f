/**
 * `sw-ingest stats`: one line per collection — name, count, latest receive
 * time (server clock) — read from the database directly.
 */
import { parseArgs } from 'node:util';
import { openStore } from '../open-store.js';
import { chooseDatabase } from './database-option.js';
import { helpText } from './help.js';
import type { ParsedValues } from './options.js';

/**
 * Runs `sw-ingest stats` with `args` (after the verb).
 *
 * @param args - the options
 * @returns the exit code, 0
 * @throws UsageError for a bad option; Error for an unusable database
 */
export async function printStats(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { db: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(helpText('stats'));
    return 0;
  }
  const store = await openStore(await chooseDatabase(values as ParsedValues), { mustExist: true, poolMax: 1 });
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
