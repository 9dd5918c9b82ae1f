/**
 * The wire protocol between the service worker and the backend, shared by
 * page, SW and server: paths, body framing, replies and the server's error
 * catalogue. See docs/architecture.md ("Wire protocol").
 */
import { BSON, Binary, type Document } from 'bson';

/** Bumped on any incompatible change of the upload body or reply. */
export const PROTOCOL_VERSION = 1;
/** Content type of upload bodies. */
export const BSON_CONTENT_TYPE = 'application/bson';
/** BSON's own limit for one document (MongoDB's): 16 MiB. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** Paths under the configured endpoint (e.g. `/api/ingest` + `/batches`). */
export const PATHS = {
  /** POST: create an anonymous user; answers {@link Session}. */
  anonymousLogin: '/auth/anonymous',
  /** POST with `Authorization: Bearer <api key>`: answers a {@link Session} for the key's user. */
  apiKeyLogin: '/auth/api-key',
  /** POST with `Authorization: Bearer <JWT of the app's identity provider>`: answers a {@link Session} for `jwt:<iss>:<sub>`. */
  jwtLogin: '/auth/jwt',
  /** POST with `Authorization: Bearer <refreshToken>`: answers a fresh {@link Session}; 401 once the session or its API key is revoked. */
  refresh: '/auth/refresh',
  /** POST with `Authorization: Bearer <refreshToken>`: revokes that session (204). */
  logout: '/auth/logout',
  /** POST an {@link UploadBody} as BSON with `Authorization: Bearer <accessToken>`: answers {@link UploadReply}. */
  batches: '/batches',
} as const;

/** What the login and refresh endpoints answer (JSON). */
export interface Session {
  /** {@link PROTOCOL_VERSION}: an answer without it is not from an sw-ingest API (the endpoint is wrong). */
  v: number;
  userId: string;
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch. */
  accessTokenExpiresAt: number;
  /** The server's schema fingerprint per asymmetric type (see `schema-fingerprint.ts`), for the page's `schema-mismatch` check. */
  schema: Record<string, string>;
}

/**
 * Whether a login or refresh answer is a {@link Session} of this protocol
 * version. Anything else (an HTML page, another API's JSON, another
 * version) means the configured endpoint is not an sw-ingest API.
 */
export function isSession(reply: unknown): reply is Session {
  if (reply === null || typeof reply !== 'object') return false;
  const r = reply as Partial<Session>;
  return r.v === PROTOCOL_VERSION && typeof r.userId === 'string' && typeof r.accessToken === 'string'
    && typeof r.refreshToken === 'string' && typeof r.accessTokenExpiresAt === 'number'
    && r.schema !== null && typeof r.schema === 'object';
}

/**
 * Whether an upload reply speaks this protocol (`v` matches), whatever its
 * results: one that does not is not from an sw-ingest API.
 */
export function speaksProtocol(reply: unknown): boolean {
  return reply !== null && typeof reply === 'object' && (reply as { v?: unknown }).v === PROTOCOL_VERSION;
}

/** One record of an upload. */
export interface UploadRecord {
  /** Collection: the asymmetric type's name. */
  c: string;
  /** When `ingest()` was called on the device. */
  t: Date;
  /** The document, already BSON-encoded on the page, carried as binary. */
  d: Binary;
}

/** The body of `POST {endpoint}/batches`, BSON-encoded. */
export interface UploadBody {
  v: number;
  /** A random id of the device's outbox (one per origin and browser profile). */
  client: string;
  /** When the SW sent this request, for clock-skew correction. */
  sentAt: Date;
  records: UploadRecord[];
}

/**
 * The codes of a `rejected` verdict on one record (never an HTTP status:
 * the upload itself succeeded). Listed in the README ("Record verdicts").
 */
export const RECORD_REJECTION_CODES = {
  'unknown-type': 'The record names a type the server\'s schema does not declare as asymmetric.',
  'unknown-field': 'The document has a field that its type does not declare on the server.',
  'missing-field': 'A required field is absent or null.',
  'wrong-type': 'A value does not have the exact BSON type its property declares.',
  'int-out-of-range': 'An int value is outside the signed 64-bit range.',
  'not-an-integer': 'An int value is not integral.',
  'invalid-field-name': 'A field or dictionary key starts with "$", contains "." or NUL, or is "__proto__".',
  'document-too-large': 'The document is larger than 16 MiB as BSON.',
  'nested-too-deep': 'The document nests more than 100 levels deep.',
  'malformed-body': 'The record\'s document is not valid BSON.',
  'owner-mismatch': 'The record\'s "_owner" field is not the id of the user who uploaded it.',
} as const;
export type RecordRejectionCode = keyof typeof RECORD_REJECTION_CODES;

/** The server's verdict on one record, in the order of the upload. */
export type RecordResult =
  | { s: 'stored' }
  | { s: 'duplicate' }
  | { s: 'rejected'; code: RecordRejectionCode; message: string };

/** The JSON reply to an upload, sent only after the database committed. */
export interface UploadReply {
  v: number;
  results: RecordResult[];
}

/** The JSON body of every 4xx/5xx answer. */
export interface ErrorReply {
  error: { code: ServerErrorCode; message: string; collection?: string };
}

/** The server's error catalogue: code → HTTP status and meaning. Listed in the README. */
export const SERVER_ERRORS = {
  'unauthorized': { status: 401, message: 'Missing, expired or invalid credentials.' },
  'forbidden': { status: 403, message: 'The credentials are valid but not allowed to do this.' },
  'anonymous-disabled': { status: 403, message: 'Anonymous login is turned off on this server.' },
  'not-found': { status: 404, message: 'No such route or collection.' },
  'malformed-body': { status: 400, message: 'The body is not a valid upload (bad BSON or bad framing).' },
  'unknown-collection': { status: 400, message: 'A record names a collection the server schema does not declare as asymmetric.' },
  'too-many-records': { status: 400, message: 'The upload holds more records than the server accepts in one request.' },
  'unsupported-media-type': { status: 415, message: 'Uploads must be application/bson.' },
  'body-too-large': { status: 413, message: 'The body is larger than the server accepts.' },
  'unsupported-protocol': { status: 400, message: 'The upload uses a protocol version this server does not speak.' },
  'bad-request': { status: 400, message: 'The request is malformed.' },
  'rate-limited': { status: 429, message: 'Too many requests from this address or user; retry after the Retry-After seconds.' },
  'request-timeout': { status: 408, message: 'The request was not received in full within the server\'s time limit.' },
  'internal': { status: 500, message: 'The server failed; nothing of this request was stored.' },
  'database-unavailable': { status: 503, message: 'The database is unreachable, restarting, overloaded or full; retry after the Retry-After seconds (records already stored are then answered "duplicate").' },
} as const;
export type ServerErrorCode = keyof typeof SERVER_ERRORS;

/** Encodes an upload body. */
export function encodeUpload(body: UploadBody): Uint8Array<ArrayBuffer> {
  // serialize() allocates a fresh ArrayBuffer; its typing only says ArrayBufferLike.
  return BSON.serialize(body as unknown as Document) as Uint8Array<ArrayBuffer>;
}

/** One outbox record as the SW reads it: the collection, `ingest()`'s time (ms) and the document's BSON. */
export interface RecordFrame {
  c: string;
  t: number;
  d: Uint8Array;
}

/**
 * Writes a safe integer (|n| < 2^53: a date's milliseconds, an int that is
 * a JS number) as BSON's little-endian int64 at `pos`.
 */
export function writeInt64(view: DataView, pos: number, n: number): void {
  view.setUint32(pos, n >>> 0, true);
  view.setInt32(pos + 4, Math.floor(n / 4294967296), true);
}

const textEncoder = new TextEncoder();
const ASCII_DIGITS: Uint8Array[] = [];

/** UTF-8 of a collection name, cached: a batch names few collections, many times. */
const collectionBytes = new Map<string, Uint8Array>();
function utf8Cached(s: string): Uint8Array {
  let b = collectionBytes.get(s);
  if (!b) {
    b = textEncoder.encode(s);
    if (collectionBytes.size < 1_000) collectionBytes.set(s, b);
  }
  return b;
}

/** The array index `i` as a BSON key (ASCII digits, without the NUL). */
function indexKey(i: number): Uint8Array {
  let k = ASCII_DIGITS[i];
  if (!k) ASCII_DIGITS[i] = k = textEncoder.encode(String(i));
  return k;
}

/**
 * Encodes an upload body straight from outbox records: the same bytes as
 * {@link encodeUpload} of `{ v, client, sentAt, records: [{ c, t: Date, d: Binary }] }`
 * (tests/unit/protocol-frames.test.ts compares them), written in one pass
 * into one exactly-sized buffer. The documents are already BSON; this only
 * frames them, without `bson`'s general serializer, whose browser build
 * allocates a `TextEncoder` per key and string.
 */
export function encodeBatchBody(client: string, sentAt: Date, records: readonly RecordFrame[]): Uint8Array<ArrayBuffer> {
  const clientBytes = textEncoder.encode(client);
  const names = records.map((r) => utf8Cached(r.c));
  // { v: int32, client: string, sentAt: date, records: array }
  let recordsSize = 4 + 1;
  for (let i = 0; i < records.length; i++) {
    // element header + { c: string, t: date, d: binary } + the sub-document's size and end
    recordsSize += 1 + indexKey(i).length + 1 + 4 + (1 + 2 + 4 + names[i]!.length + 1) + (1 + 2 + 8) + (1 + 2 + 4 + 1 + records[i]!.d.length) + 1;
  }
  const size = 4 + (1 + 2 + 4) + (1 + 7 + 4 + clientBytes.length + 1) + (1 + 7 + 8) + (1 + 8 + recordsSize) + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let pos = 0;
  const key = (type: number, name: string): void => {
    out[pos++] = type;
    for (let j = 0; j < name.length; j++) out[pos++] = name.charCodeAt(j);
    out[pos++] = 0;
  };
  const int64 = (ms: number): void => {
    writeInt64(view, pos, ms);
    pos += 8;
  };
  const string = (bytes: Uint8Array): void => {
    view.setInt32(pos, bytes.length + 1, true);
    out.set(bytes, pos + 4);
    pos += 4 + bytes.length;
    out[pos++] = 0;
  };
  view.setInt32(pos, size, true);
  pos += 4;
  key(0x10, 'v');
  view.setInt32(pos, PROTOCOL_VERSION, true);
  pos += 4;
  key(0x02, 'client');
  string(clientBytes);
  key(0x09, 'sentAt');
  int64(sentAt.getTime());
  key(0x04, 'records');
  view.setInt32(pos, recordsSize, true);
  pos += 4;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    out[pos++] = 0x03;
    out.set(indexKey(i), pos);
    pos += indexKey(i).length;
    out[pos++] = 0;
    const start = pos;
    pos += 4;
    key(0x02, 'c');
    string(names[i]!);
    key(0x09, 't');
    int64(r.t);
    key(0x05, 'd');
    view.setInt32(pos, r.d.length, true);
    out[pos + 4] = 0; // binary subtype 0 (generic)
    out.set(r.d, pos + 5);
    pos += 5 + r.d.length;
    out[pos++] = 0;
    view.setInt32(start, pos - start, true);
  }
  out[pos++] = 0;
  out[pos++] = 0;
  if (pos !== size) throw new Error(`encodeBatchBody: wrote ${pos} of ${size} bytes`);
  return out;
}

/** Joins the endpoint and a path of {@link PATHS}. */
export function endpointUrl(endpoint: string, path: string): string {
  return endpoint.replace(/\/+$/, '') + path;
}

/**
 * Checks a reply against the upload it answers. A reply that does not hold
 * exactly one entry per record confirms nothing (undefined: indexes cannot
 * be trusted). Otherwise each well-formed entry is a verdict and each
 * malformed one is `undefined`: that record was not proven stored and must
 * stay queued.
 */
export function parseUploadReply(reply: unknown, recordCount: number): Array<RecordResult | undefined> | undefined {
  if (reply === null || typeof reply !== 'object') return undefined;
  const { v, results } = reply as Partial<UploadReply>;
  if (v !== PROTOCOL_VERSION || !Array.isArray(results) || results.length !== recordCount) return undefined;
  return results.map((r: unknown) => (isRecordResult(r) ? r : undefined));
}

function isRecordResult(r: unknown): r is RecordResult {
  if (r === null || typeof r !== 'object') return false;
  const { s, code, message } = r as { s?: unknown; code?: unknown; message?: unknown };
  if (s === 'stored' || s === 'duplicate') return true;
  return s === 'rejected' && typeof code === 'string' && typeof message === 'string';
}
