/**
 * The server's two secrets, kept as files in the data directory:
 * - `jwt-secret`: the HS256 key of access tokens; generated on first start.
 * - `admin-key`: the bearer key of `/api/admin`; generated on first start
 *   unless one is given (`--admin-key`), in which case no file is written.
 *
 * Both are created with mode 0600 and reused afterwards. Neither is ever
 * logged: callers print the admin key's *path* only.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

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
  /** The file holding the admin key, or undefined when it came from an option. */
  adminKeyFile: string | undefined;
}

/**
 * Loads or creates both secrets.
 *
 * @param dataDir - where `jwt-secret` and `admin-key` live
 * @param adminKey - an admin key from `--admin-key` / `SW_INGEST_ADMIN_KEY`; wins over the file
 */
export function loadServerSecrets(dataDir: string, adminKey?: string): ServerSecrets {
  const jwtSecret = loadOrCreateSecret(dataDir, JWT_SECRET_FILE).value;
  if (adminKey !== undefined && adminKey !== '') return { jwtSecret, adminKey, adminKeyFile: undefined };
  const admin = loadOrCreateSecret(dataDir, ADMIN_KEY_FILE);
  return { jwtSecret, adminKey: admin.value, adminKeyFile: admin.file };
}
