/**
 * `sw-ingest keys create|list|revoke`: API keys, in the database directly.
 * The key `create` makes is the only secret the command line ever prints,
 * once, on stdout; the database keeps its SHA-256.
 */
import { parseArgs } from 'node:util';
import { generateApiKey } from '../auth.js';
import { openStore } from '../open-store.js';
import { chooseDatabase } from './database-option.js';
import { helpText } from './help.js';
import type { ParsedValues } from './options.js';
import { UsageError } from './usage-error.js';

/**
 * Runs `sw-ingest keys` with `args` (after the verb).
 *
 * @param args - the action, its argument and the options
 * @returns the exit code: 0, or 1 when `revoke` names no key
 * @throws UsageError for a bad action or option; Error for an unusable database
 */
export async function keys(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { db: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(helpText('keys'));
    return 0;
  }
  const [action, ...rest] = positionals;
  if (action === undefined) throw new UsageError('keys: missing action (create, list or revoke)');
  if (!['create', 'list', 'revoke'].includes(action)) throw new UsageError(`keys: unknown action "${action}"; expected create, list or revoke`);
  if (action !== 'create' && values.name !== undefined) throw new UsageError(`keys ${action}: --name is only for create`);
  if (action === 'revoke' ? rest.length !== 1 : rest.length !== 0) {
    throw new UsageError(action === 'revoke' ? 'keys revoke: give exactly one key id (see keys list)' : `keys ${action}: unexpected argument "${rest[0]}"`);
  }
  const name = values.name ?? '';
  if (name.length > 200 || /[\0-\x1f\x7f]/.test(name)) throw new UsageError('keys create: --name must be at most 200 characters, without control characters');
  // create may prepare a database no server has opened yet; list and revoke need an existing one.
  const store = await openStore(await chooseDatabase(values as ParsedValues), { mustExist: action !== 'create', poolMax: 1 });
  try {
    if (action === 'create') {
      const key = generateApiKey();
      await store.createApiKey({ id: key.id, name, userId: key.userId, keyHash: key.keyHash, createdAt: Date.now() });
      process.stderr.write(`sw-ingest: created API key ${key.id}${name ? ` ("${name}")` : ''} for user ${key.userId}; it is shown once, only its SHA-256 is stored\n`);
      process.stdout.write(`${key.key}\n`);
      return 0;
    }
    if (action === 'list') {
      const list = await store.listApiKeys();
      const nameWidth = Math.max(4, ...list.map((k) => k.name.length));
      process.stdout.write(`${'id'.padEnd(16)}  ${'name'.padEnd(nameWidth)}  ${'user'.padEnd(24)}  ${'created'.padEnd(24)}  revoked\n`);
      for (const k of list) {
        const revoked = k.revokedAt === null ? '-' : new Date(k.revokedAt).toISOString();
        process.stdout.write(`${k.id.padEnd(16)}  ${k.name.padEnd(nameWidth)}  ${k.userId.padEnd(24)}  ${new Date(k.createdAt).toISOString().padEnd(24)}  ${revoked}\n`);
      }
      return 0;
    }
    const id = rest[0]!;
    const result = await store.revokeApiKey(id, Date.now());
    if (result === undefined) {
      process.stderr.write(`sw-ingest: no API key "${id.slice(0, 100)}" (see sw-ingest keys list)\n`);
      return 1;
    }
    process.stderr.write(result.alreadyRevoked
      ? `sw-ingest: API key ${id} was already revoked\n`
      : `sw-ingest: revoked API key ${id} and its ${result.sessions} session(s)\n`);
    return 0;
  } finally {
    await store.close();
  }
}
