/**
 * sw-ingest-server: the backend of sw-ingest. This file is the table of
 * contents of its public API.
 */
export { buildApp, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CSP, DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_REQUEST_TIMEOUT_MS } from './app.js';
export type { AppOptions } from './app.js';
export { openStore, parseDbLocation, DEFAULT_DB } from './open-store.js';
export type { DbLocation, OpenStoreOptions } from './open-store.js';
export type { Store } from './store.js';
export { parseSchema } from '../core/schema.js';
export type { ObjectSchema, PropertySchema, ParsedSchema } from '../core/schema.js';
export { SERVER_ERRORS, PROTOCOL_VERSION } from '../core/protocol.js';
export type { ServerErrorCode } from '../core/protocol.js';
