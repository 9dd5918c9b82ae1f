/**
 * The server's two secrets:
 * - `jwt-secret`: the HS256 key of access tokens; generated on first start.
 * - `admin-key`: the bearer key of `/api/admin`; generated on first start
 *   unless one is given (`--admin-key`), in which case none is stored.
 *
 * Where they live depends on the sink. With SQLite (one machine) they are
 * files in the data directory, created with mode 0600. With a sink that
 * several machines share (PostgreSQL, `Store.sharedSecret`) they live in the
 * database, so that every server behind a load balancer verifies the tokens
 * the others issued and accepts the same admin key, with nothing to copy
 * between machines. Neither is ever logged: callers print where the admin
 * key is, never its value.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from './store.js';

/** File name of the JWT signing secret in the data directory. */
export const JWT_SECRET_FILE = 'jwt-secret';
/** File name of the generated admin key in the data directory. */
export const ADMIN_KEY_FILE = 'admin-key';
/** Entropy of generated secrets. */
const SECRET_BYTES = 32;

/** A secret and where it lives. */
export interface SecretFile {
  value: string;
  file: string;
  /** Whether this call generated it. */
  created: boolean;
}

/**
 * Reads `dir/name`, or generates 32 random bytes (base64url) into it with
 * mode 0600 when it does not exist. Exclusive creation (`wx`) means two
 * servers starting at once on one data directory agree on one secret.
 *
 * @param dir - the data directory; created if missing (mode 0700)
 * @param name - the file name
 * @throws when the file exists but is empty
 */
export function loadOrCreateSecret(dir: string, name: string): SecretFile {
  const file = path.resolve(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let created = false;
  try {
    fs.writeFileSync(file, randomBytes(SECRET_BYTES).toString('base64url') + '\n', { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const value = fs.readFileSync(file, 'utf8').trim();
  if (value === '') throw new Error(`${file} is empty; delete it to have a new secret generated`);
  return { value, file, created };
}

/** The secrets {@link loadServerSecrets} returns. */
export interface ServerSecrets {
  jwtSecret: string;
  adminKey: string;
  /**
   * Where the admin key is kept, for telling the operator: a file path,
   * `database` (shared sinks), or undefined when it came from an option.
   */
  adminKeyLocation: string | undefined;
}

/**
 * Loads or creates both secrets: from `store` when it shares secrets across
 * servers (`Store.sharedSecret`), else from files in `dataDir`.
 *
 * @param dataDir - where `jwt-secret` and `admin-key` live for an unshared store
 * @param adminKey - an admin key from `--admin-key` / `SW_INGEST_ADMIN_KEY`; wins over the stored one
 * @param store - the opened store
 */
export async function loadServerSecrets(dataDir: string, adminKey?: string, store?: Store): Promise<ServerSecrets> {
  const given = adminKey !== undefined && adminKey !== '' ? adminKey : undefined;
  if (store?.sharedSecret !== undefined) {
    const generate = (): string => randomBytes(SECRET_BYTES).toString('base64url');
    const jwtSecret = await store.sharedSecret(JWT_SECRET_FILE, generate);
    if (given !== undefined) return { jwtSecret, adminKey: given, adminKeyLocation: undefined };
    return { jwtSecret, adminKey: await store.sharedSecret(ADMIN_KEY_FILE, generate), adminKeyLocation: 'database' };
  }
  const jwtSecret = loadOrCreateSecret(dataDir, JWT_SECRET_FILE).value;
  if (given !== undefined) return { jwtSecret, adminKey: given, adminKeyLocation: undefined };
  const admin = loadOrCreateSecret(dataDir, ADMIN_KEY_FILE);
  return { jwtSecret, adminKey: admin.value, adminKeyLocation: admin.file };
}
