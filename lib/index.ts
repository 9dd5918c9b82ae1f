/**
 * sw-ingest: durable one-way ingest for the web. This file is the table of
 * contents of the public API.
 */
export { open } from './open.js';
// A type only: clients come from open(); its constructor and plumbing are not public (stripInternal).
export type { IngestClient } from './client.js';
export type { OpenOptions, FlushOptions, RejectedRecord, IngestEvents, IngestStats } from './client-types.js';
export type { FlushResult } from './sw-messages.js';
export { Credentials } from './credentials.js';
export type { IngestCredentials } from './credentials.js';
export { IngestError, ERROR_CODES } from '../core/errors.js';
export type { IngestErrorCode } from '../core/errors.js';
export type { ObjectSchema, PropertySchema } from '../core/schema.js';
export { defineSchema } from './schema-types.js';
export type { AsymmetricName, IngestDocument, MixedValue, PrimitiveValues } from './schema-types.js';
export type { RetryPolicy } from './retry-policy.js';
export { BSON } from './bson.js';
