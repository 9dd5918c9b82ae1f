/**
 * `sw-ingest export`: one collection as NDJSON (relaxed or canonical
 * Extended JSON, optionally with metadata envelopes) or CSV, read from the
 * database directly — the same lines as the admin API's export
 * (export-format.ts).
 *
 * A collection without a single record is either a type the schema
 * declares (the export is empty) or a typo: then the command fails and
 * lists what the database holds and the schema declares.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { ParsedSchema } from '../../core/schema.js';
import { csvChunks, ndjsonChunks, receivedBetween } from '../export-format.js';
import { loadSchema } from '../ingest-options.js';
import { openStore } from '../open-store.js';
import type { ExportedRow, Store } from '../store.js';
import { chooseDatabase } from './database-option.js';
import { helpText } from './help.js';
import { parseTime } from './option-values.js';
import { readEnv, type ParsedValues } from './options.js';
import { UsageError } from './usage-error.js';

/**
 * Runs `sw-ingest export` with `args` (after the verb).
 *
 * @param args - the options
 * @returns the exit code, 0
 * @throws UsageError for a bad option; Error for an unknown collection or an unusable database
 */
export async function exportCollection(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      db: { type: 'string' },
      collection: { type: 'string' },
      format: { type: 'string' },
      schema: { type: 'string' },
      canonical: { type: 'boolean' },
      meta: { type: 'boolean' },
      since: { type: 'string' },
      until: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(helpText('export'));
    return 0;
  }
  const collection = values.collection;
  if (collection === undefined) throw new UsageError('--collection <name> is required');
  const format = values.format ?? 'ndjson';
  if (format !== 'ndjson' && format !== 'csv') throw new UsageError(`--format must be ndjson or csv, not "${format}"`);
  const since = parseTime('--since', values.since);
  const until = parseTime('--until', values.until);
  const schemaFile = values.schema ?? readEnv('SW_INGEST_SCHEMA');
  let schema: ParsedSchema | undefined;
  let columns: string[] = [];
  if (format === 'csv') {
    if (schemaFile === undefined) throw new UsageError('--format csv needs --schema <file> (its properties are the columns)');
    schema = await loadSchema(schemaFile);
    const type = schema.get(collection);
    if (!type?.asymmetric) {
      throw new UsageError(`--collection ${collection}: not an asymmetric type of ${schemaFile} (its asymmetric types: ${listOr(asymmetricTypes(schema), 'none')})`);
    }
    columns = [...type.properties.keys()];
  }
  const store = await openStore(await chooseDatabase(values as ParsedValues), { mustExist: true, poolMax: 1 });
  let out: NodeJS.WritableStream | undefined;
  try {
    const iterator = store.exportRows(collection)[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) {
      schema ??= schemaFile === undefined ? undefined : await loadSchema(schemaFile);
      if (schema?.get(collection)?.asymmetric !== true) throw new Error(await unknownCollectionMessage(store, collection, schema, schemaFile));
    }
    const rows = receivedBetween(prepend(first, iterator), since, until);
    out = values.out === undefined ? process.stdout : createWriteStream(values.out);
    const chunks = format === 'csv'
      ? csvChunks(rows, columns, { meta: values.meta === true })
      : ndjsonChunks(rows, { format: values.canonical ? 'canonical' : 'relaxed', meta: values.meta === true });
    for await (const chunk of chunks) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    await store.close();
    if (out !== undefined && out !== process.stdout) {
      await new Promise<void>((resolve, reject) => (out as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  }
  return 0;
}

/** The rows again, `first` included: it was read to tell an empty collection from none. */
async function* prepend(first: IteratorResult<ExportedRow>, rest: AsyncIterator<ExportedRow>): AsyncGenerator<ExportedRow> {
  if (first.done) return;
  yield first.value;
  for await (const row of { [Symbol.asyncIterator]: () => rest }) yield row;
}

/** `no collection "Nope"; the database holds: Reading, Note; schema.json declares: Reading, Note, Event`. */
async function unknownCollectionMessage(store: Store, collection: string, schema: ParsedSchema | undefined, schemaFile: string | undefined): Promise<string> {
  const held = (await store.collectionStats()).map((c) => c.collection);
  const parts = [`no collection "${collection.slice(0, 200)}"`, `the database holds: ${listOr(held, 'no records yet')}`];
  if (schema !== undefined) parts.push(`${schemaFile} declares: ${listOr(asymmetricTypes(schema), 'no asymmetric type')}`);
  else parts.push('pass --schema to export a declared type that has no records yet');
  return parts.join('; ');
}

function asymmetricTypes(schema: ParsedSchema): string[] {
  return [...schema.values()].filter((t) => t.asymmetric).map((t) => t.name);
}

function listOr(names: readonly string[], none: string): string {
  return names.length === 0 ? none : names.join(', ');
}
