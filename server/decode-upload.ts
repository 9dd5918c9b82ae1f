/**
 * Decodes and checks the framing of an upload body ({@link UploadBody}):
 * everything that makes the whole request unacceptable. Checking each
 * record's document against the schema is the route's job, record by record.
 */
import { BSON, type Binary } from 'bson';
import { PROTOCOL_VERSION, type ServerErrorCode, type UploadBody } from '../core/protocol.js';
import type { ParsedSchema } from '../core/schema.js';

/** Longest accepted `client` id; it is stored with every row. */
export const MAX_CLIENT_ID_CHARS = 200;

/** Why a whole upload is refused. */
export interface UploadProblem {
  code: Extract<ServerErrorCode, 'malformed-body' | 'unsupported-protocol' | 'too-many-records' | 'unknown-collection'>;
  message: string;
  /** For `unknown-collection`. */
  collection?: string;
}

/** The outcome of {@link decodeUpload}. */
export type DecodedUpload = { ok: true; upload: UploadBody } | { ok: false; problem: UploadProblem };

const isBinary = (v: unknown): v is Binary =>
  v !== null && typeof v === 'object' && (v as { _bsontype?: string })._bsontype === 'Binary';
const isValidDate = (v: unknown): v is Date => v instanceof Date && !Number.isNaN(v.getTime());

/**
 * Decodes `body` and checks, in this order: BSON validity, protocol version,
 * `client`, `sentAt`, the record count, each record's `{c, t, d}` shape, and
 * that every `c` is an asymmetric type of `schema`. Unknown top-level fields
 * are ignored, so a newer client may add some without a version bump.
 *
 * @param body - the raw request body
 * @param schema - the server's parsed schema
 * @param maxRecords - the most records accepted in one upload
 */
export function decodeUpload(body: Uint8Array, schema: ParsedSchema, maxRecords: number): DecodedUpload {
  const refuse = (code: UploadProblem['code'], message: string, collection?: string): DecodedUpload => ({
    ok: false,
    problem: collection === undefined ? { code, message } : { code, message, collection },
  });

  let raw: Record<string, unknown>;
  try {
    // Values promoted on purpose: `v` is compared as a number, and `d` stays a
    // Binary (buffers are never promoted). Documents inside `d` are decoded
    // later without promotion, so their int/double types survive.
    raw = BSON.deserialize(body);
  } catch (err) {
    return refuse('malformed-body', `The body is not a BSON document: ${(err as Error).message}.`);
  }

  const { v, client, sentAt, records } = raw;
  if (typeof v !== 'number') return refuse('malformed-body', 'The upload has no numeric "v" (protocol version).');
  if (v !== PROTOCOL_VERSION) return refuse('unsupported-protocol', `The upload has protocol version ${v}; this server speaks ${PROTOCOL_VERSION}.`);
  if (typeof client !== 'string' || client === '' || client.length > MAX_CLIENT_ID_CHARS || client.includes('\0')) {
    return refuse('malformed-body', `"client" must be a string of 1 to ${MAX_CLIENT_ID_CHARS} characters, without NUL.`);
  }
  if (!isValidDate(sentAt)) return refuse('malformed-body', '"sentAt" must be a date.');
  if (!Array.isArray(records)) return refuse('malformed-body', '"records" must be an array.');
  if (records.length > maxRecords) {
    return refuse('too-many-records', `The upload holds ${records.length} records; this server accepts at most ${maxRecords} per request.`);
  }

  for (const [i, r] of records.entries()) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return refuse('malformed-body', `records[${i}] must be a document.`);
    const { c, t, d } = r as Record<string, unknown>;
    if (typeof c !== 'string') return refuse('malformed-body', `records[${i}].c must be a string (the collection).`);
    if (!isValidDate(t)) return refuse('malformed-body', `records[${i}].t must be a date.`);
    if (!isBinary(d)) return refuse('malformed-body', `records[${i}].d must be binary (the BSON-encoded document).`);
  }
  // Checked after the framing so that a half-garbled body is reported as malformed, not as a schema mismatch.
  for (const [i, r] of (records as { c: string }[]).entries()) {
    if (schema.get(r.c)?.asymmetric !== true) {
      const shown = r.c.length > 100 ? `${JSON.stringify(r.c.slice(0, 100))}… (${r.c.length} characters)` : JSON.stringify(r.c);
      return refuse('unknown-collection', `records[${i}].c: ${shown} is not an asymmetric type of the server's schema.`, r.c);
    }
  }
  return { ok: true, upload: { v, client, sentAt, records: records as UploadBody['records'] } };
}
