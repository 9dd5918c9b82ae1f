/**
 * `open()`: checks the options and the schema, stores what the service
 * worker needs to upload with no page open (endpoint, session, batch
 * settings), registers the worker, logs in, compares the server's schema
 * fingerprints with the page's, and returns the {@link IngestClient}.
 */
import { IngestError } from '../core/errors.js';
import { mismatchedTypes, schemaFingerprints } from '../core/schema-fingerprint.js';
import { parseSchema, type ObjectSchema } from '../core/schema.js';
import { IngestClient, waitForActive } from './client.js';
import type { OpenOptions } from './client-types.js';
import { loginRequest, sameIdentity, toStored } from './credentials.js';
import { resolveOptions } from './open-options.js';
import { entryLimits, getConfig, getSession, openOutboxDb, putConfig, putSession, recordFailure, type OutboxDb } from './outbox-db.js';
import type { ClientSchema } from './schema-types.js';
import { logInFromPage } from './sessions.js';
import { storageManager } from './storage.js';

/**
 * Opens the device outbox: checks the schema, stores what the service
 * worker needs to upload with no page open (endpoint, session, batch
 * settings), registers the service worker and, with no credentials stored
 * yet, logs in anonymously. Works offline: then the SW logs in before its
 * first upload.
 *
 * @param options - see {@link OpenOptions}
 * @throws {@link IngestError} `invalid-option` (nothing is written), `invalid-schema`, `not-supported`, `service-worker-failed`, `auth-failed`
 * @example
 * ```ts
 * const client = await open({
 *   endpoint: '/api/ingest',
 *   serviceWorker: '/sw-ingest-sw.js',
 *   schema: [{ name: 'Reading', asymmetric: true, primaryKey: '_id',
 *              properties: { _id: 'objectId', deviceId: 'string', seq: 'int', temp: 'double', at: 'date' } }],
 * });
 * ```
 */
export async function open<const S extends readonly ObjectSchema[]>(options: OpenOptions<S>): Promise<IngestClient<ClientSchema<S>>> {
  if (options === null || typeof options !== 'object') throw new IngestError('invalid-option', 'open(): expected an options object');
  if (typeof indexedDB === 'undefined') throw new IngestError('not-supported', 'open(): this browser has no IndexedDB (private mode?)');
  if (!('serviceWorker' in navigator)) {
    throw new IngestError('not-supported', 'open(): this page cannot use service workers (it must be served over https or from localhost)');
  }
  const resolved = resolveOptions(options, location.href);
  const schema = parseSchema(options.schema);
  if (resolved.persist) {
    // Not awaited: Firefox may ask the user, and open() must not wait on a prompt. stats().persisted shows the answer.
    const storage = storageManager();
    if (typeof storage?.persist === 'function') storage.persist().catch(() => undefined);
  }
  const { endpoint, retry, batchMaxRecords, batchMaxBytes } = resolved;
  const credentials = options.credentials ?? { type: 'anonymous' };
  if (!loginRequest(credentials) || (credentials.type !== 'anonymous' && !('key' in credentials ? credentials.key : credentials.token))) {
    throw new IngestError('invalid-option', 'open(): "credentials" must come from Credentials.anonymous(), .apiKey(key) or .jwt(token)');
  }

  let db: OutboxDb;
  try {
    db = await openOutboxDb();
  } catch (e) {
    throw new IngestError('storage-failed', `open(): IndexedDB could not be opened: ${String(e)}`, { cause: e });
  }
  const stored = toStored(credentials);
  const previous = await getConfig(db);
  // Another user (or a logged-out outbox): the old session must not upload for this one.
  const sameUser = sameIdentity(previous?.credentials ?? (previous ? { type: 'anonymous' } : undefined), stored);
  await putConfig(db, {
    credentials: stored,
    endpoint,
    clientId: previous?.clientId ?? crypto.randomUUID(),
    batchMaxRecords,
    batchMaxBytes,
    retry,
  });
  if (!previous || previous.endpoint !== endpoint || !sameUser) await putSession(db, undefined);

  let registration: ServiceWorkerRegistration;
  try {
    registration = typeof options.serviceWorker === 'string'
      ? await navigator.serviceWorker.register(options.serviceWorker, options.scope ? { scope: options.scope } : undefined)
      : options.serviceWorker;
  } catch (e) {
    throw new IngestError('service-worker-failed', `open(): could not register ${String(options.serviceWorker)}: ${String(e)}`, { cause: e });
  }
  await waitForActive(registration);

  // A JWT is exchanged at every open (the page has a fresh one now); other credentials when there is no session.
  const pageFingerprints = await schemaFingerprints(schema);
  const storedSession = await getSession(db);
  let serverFingerprints = storedSession?.schema; // as of the latest login or refresh (absent in older outboxes)
  let endpointProblem: IngestError | undefined;
  if (credentials.type === 'jwt' || !storedSession) {
    const outcome = await logInFromPage(endpoint, credentials, retry.requestTimeoutMs);
    if (outcome instanceof IngestError) {
      endpointProblem = outcome;
      await recordFailure(db, outcome);
    } else if (outcome) {
      await putSession(db, outcome);
      serverFingerprints = outcome.schema;
    }
  }

  const client = new IngestClient<ClientSchema<S>>(db, schema, registration, {
    durability: resolved.durability,
    forceSyncFallback: resolved.forceSyncFallback,
    entries: entryLimits(batchMaxRecords, batchMaxBytes),
    caps: {
      maxPendingRecords: resolved.maxPendingRecords,
      maxPendingBytes: resolved.maxPendingBytes,
    },
  });
  if (endpointProblem) client.warnEndpoint(endpointProblem);
  const mismatched = serverFingerprints === undefined ? [] : mismatchedTypes(pageFingerprints, serverFingerprints);
  if (mismatched.length > 0) client.reportSchemaMismatch(mismatched);
  // Records left by an earlier visit go out now, not at the next sync.
  client.wake(true);
  return client;
}
