/**
 * sw-ingest-server: the backend of sw-ingest. This file is the table of
 * contents of its public API: three ways to run the same ingest API, the
 * options they share, and the few helpers and types around them.
 */
// In your fastify app; a whole server (what `sw-ingest serve` runs); in a plain Node or Express server.
export { ingestPlugin } from './ingest-plugin.js';
export type { IngestPluginOptions } from './ingest-plugin.js';
export { createIngestServer } from './create-server.js';
export type { IngestServerOptions } from './create-server.js';
export { createIngestHandler } from './ingest-handler.js';
export type { IngestHandler, IngestHandlerOptions } from './ingest-handler.js';

// The options they share, and their defaults.
export type { IngestOptions } from './ingest-options.js';
export type { CustomJwtConfig } from './custom-jwt.js';
export type { RateLimitOptions } from './rate-limits.js';
export { DEFAULT_RATE_LIMITS } from './rate-limits.js';
export { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_CSP, DEFAULT_MAX_RECORDS_PER_BATCH, DEFAULT_REQUEST_TIMEOUT_MS } from './app.js';

// Storage: a `db` value, or an opened store for `db` (advanced).
export { openStore, parseDbLocation, DEFAULT_DB } from './open-store.js';
export type { DbLocation, OpenStoreOptions } from './open-store.js';
export type { Store } from './store.js';

// The schema and the wire protocol's catalogue, shared with the page library.
export { parseSchema } from '../core/schema.js';
export type { ObjectSchema, PropertySchema, ParsedSchema } from '../core/schema.js';
export { SERVER_ERRORS, PROTOCOL_VERSION } from '../core/protocol.js';
export type { ServerErrorCode } from '../core/protocol.js';
