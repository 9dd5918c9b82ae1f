/**
 * `POST {prefix}/batches`: the confirm step of the data path. Authenticates,
 * re-validates every record against the schema, writes the valid ones in one
 * idempotent transaction, and answers only after the commit.
 */
import { BSON, calculateObjectSize, type Document } from 'bson';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { IngestError } from '../core/errors.js';
import {
  BSON_CONTENT_TYPE, MAX_DOCUMENT_BYTES, PATHS, PROTOCOL_VERSION, RECORD_REJECTION_CODES,
  type RecordRejectionCode, type RecordResult, type UploadRecord, type UploadReply,
} from '../core/protocol.js';
import { MAX_NESTING_DEPTH, convertDocument, primaryKeyString, type ParsedSchema } from '../core/schema.js';
import { requireUser, type RevocationList, type TokenIssuer } from './auth.js';
import { decodeUpload } from './decode-upload.js';
import { sendError } from './errors.js';
import type { IngestMetrics, RecordVerdict } from './metrics.js';
import type { Store, StoredRow } from './store.js';

/** Options of {@link registerIngestRoute}. */
export interface IngestRouteOptions {
  store: Store;
  schema: ParsedSchema;
  issuer: TokenIssuer;
  revocations: RevocationList;
  /** `onRequest` hooks run once the user is known (the per-user rate limit). */
  userHooks?: onRequestAsyncHookHandler[];
  /** Largest accepted body; larger ones get 413 `body-too-large`. */
  bodyLimitBytes: number;
  /** Most records per upload; more get 400 `too-many-records`. */
  maxRecordsPerBatch: number;
  /** Where uploads, verdicts and commits are counted. */
  metrics?: IngestMetrics | undefined;
}

/**
 * Registers `POST /batches` (see {@link PATHS}) on `app`, under whatever
 * prefix `app` was registered with, with its `application/bson` body parser.
 *
 * @param app - an encapsulated plugin context (the parser stays inside it)
 * @param options - see {@link IngestRouteOptions}
 */
export function registerIngestRoute(app: FastifyInstance, options: IngestRouteOptions): void {
  const { store, schema, metrics } = options;
  // Declared up front so fastify keeps one request shape.
  app.decorateRequest('userId', '');
  app.decorateRequest('sessionId', '');
  app.addContentTypeParser(BSON_CONTENT_TYPE, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post<{ Body: Buffer }>(PATHS.batches, {
    bodyLimit: options.bodyLimitBytes,
    // Both run before the body is read: a refused upload costs no parsing.
    onRequest: [requireUser(options.issuer, options.revocations, metrics), ...(options.userHooks ?? []), requireBsonBody],
    onResponse: async (_request, reply) => metrics?.upload(reply.statusCode, reply.elapsedTime / 1000),
  }, async (request, reply) => {
    const decoded = decodeUpload(request.body, schema, options.maxRecordsPerBatch);
    if (!decoded.ok) return sendError(reply, decoded.problem.code, decoded.problem);
    const { client, sentAt, records } = decoded.upload;
    metrics?.batch(records.length);

    const results: RecordResult[] = new Array(records.length);
    const rows: StoredRow[] = [];
    const rowIndex: number[] = []; // rows[k] answers records[rowIndex[k]]
    const receivedAt = Date.now();
    for (const [i, record] of records.entries()) {
      const checked = checkRecord(schema, record, i, request.userId);
      if ('rejected' in checked) {
        results[i] = checked.rejected;
        continue;
      }
      rows.push({
        collection: record.c, id: checked.id, doc: checked.bytes, owner: request.userId, clientId: client,
        ingestedAt: record.t.getTime(), sentAt: sentAt.getTime(), receivedAt,
      });
      rowIndex.push(i);
    }
    // A failure here throws to the error handler, and no record is answered:
    // 503 `database-unavailable` when the database is down, busy or full
    // (the commit may have happened if the connection died during it; the
    // retry then answers `duplicate`), else 500 `internal`, nothing committed.
    const commitStarted = performance.now();
    const outcomes = await store.insertBatch(rows);
    metrics?.commit((performance.now() - commitStarted) / 1000);
    outcomes.forEach((s, k) => { results[rowIndex[k]!] = { s }; });
    const counts = verdictCounts(records, results);
    metrics?.recordVerdicts(counts);
    // One line per upload (at info: SW_INGEST_LOG_LEVEL=info); ids and counts, never a token or a document.
    request.log.info({
      upload: { user: request.userId, client, records: records.length, collections: Object.fromEntries(counts), commitMs: Math.round(performance.now() - commitStarted) },
    }, 'upload stored');
    return { v: PROTOCOL_VERSION, results } satisfies UploadReply;
  });
}

/** Collection → verdict → number of records, for the metrics and the upload's log line. */
function verdictCounts(records: readonly UploadRecord[], results: readonly RecordResult[]): Map<string, Record<RecordVerdict, number>> {
  const counts = new Map<string, Record<RecordVerdict, number>>();
  for (const [i, record] of records.entries()) {
    let c = counts.get(record.c);
    if (!c) counts.set(record.c, (c = { stored: 0, duplicate: 0, rejected: 0 }));
    c[results[i]!.s]++;
  }
  return counts;
}

/** Refuses bodies that are not `application/bson` or that are compressed. */
async function requireBsonBody(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== BSON_CONTENT_TYPE) {
    return sendError(reply, 'unsupported-media-type', { message: `Uploads must be ${BSON_CONTENT_TYPE}, not "${type.slice(0, 100) || '(none)'}".` });
  }
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') {
    return sendError(reply, 'unsupported-media-type', { message: `Content-Encoding "${encoding.slice(0, 100)}" is not supported; send the BSON uncompressed.` });
  }
  return undefined;
}

/** A record that passed: its storage key and the server's own BSON of it. */
type CheckedRecord = { id: string; bytes: Uint8Array } | { rejected: RecordResult & { s: 'rejected' } };

/** The field by which a document claims its owner, when its type declares it (a string). */
export const OWNER_FIELD = '_owner';
/** Deepest nesting of documents and arrays in a stored document (MongoDB's limit); the page applies it too. */
export { MAX_NESTING_DEPTH };

/**
 * Decodes one record's document and validates it in `wire` mode (exact BSON
 * types only). The stored bytes are re-serialized from the converted
 * document, never the client's bytes, so nothing unvalidated is kept.
 *
 * Before validation, the decoded document is walked once: a key
 * `__proto__` anywhere is refused (`invalid-field-name`: assigned to a
 * plain object it would replace that object's prototype instead of
 * becoming data), and so is nesting deeper than {@link MAX_NESTING_DEPTH}.
 * After validation, a declared `_owner` must be the uploading user.
 */
function checkRecord(schema: ParsedSchema, record: UploadRecord, i: number, userId: string): CheckedRecord {
  const reject = (code: RecordRejectionCode, message: string): CheckedRecord => ({ rejected: { s: 'rejected', code, message } });
  let doc: Document;
  try {
    doc = BSON.deserialize(record.d.buffer.subarray(0, record.d.position), { promoteValues: false });
  } catch (err) {
    // A RangeError here is BSON nested deeper than the stack allows.
    return reject('malformed-body', `records[${i}].d is not a BSON document: ${(err as Error).message}.`);
  }
  const shape = shapeProblem(doc, record.c);
  if (shape !== undefined) return reject(shape.code, shape.message);
  try {
    const converted = convertDocument(schema, record.c, doc, 'wire');
    if (calculateObjectSize(converted) > MAX_DOCUMENT_BYTES) {
      return reject('document-too-large', `records[${i}]: the document is larger than ${MAX_DOCUMENT_BYTES} bytes as BSON.`);
    }
    const owner = converted[OWNER_FIELD];
    if (owner !== undefined && owner !== null && owner !== userId) {
      return reject('owner-mismatch', `${record.c}.${OWNER_FIELD}: the record claims the owner ${JSON.stringify(String(owner).slice(0, 100))}, but it was uploaded by ${JSON.stringify(userId)}.`);
    }
    return { id: primaryKeyString(converted._id), bytes: BSON.serialize(converted) };
  } catch (err) {
    // Every validation code on the wire is a record verdict code; any other (a page-only code) is a wrong value all the same.
    if (err instanceof IngestError) return reject(err.code in RECORD_REJECTION_CODES ? err.code as RecordRejectionCode : 'wrong-type', err.message);
    // The validator recurses; a document nested thousands deep exhausts the stack.
    if (err instanceof RangeError) return reject('malformed-body', `records[${i}]: the document is nested too deeply.`);
    throw err;
  }
}

/** Whether a decoded value is a document or array to walk (BSON value classes carry `_bsontype`). */
function isContainer(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !(v as { _bsontype?: unknown })._bsontype && !(v instanceof Date);
}

/**
 * Walks a decoded document (iteratively: depth costs no stack) for a
 * `__proto__` key and for nesting deeper than {@link MAX_NESTING_DEPTH}.
 */
function shapeProblem(doc: Document, collection: string): { code: RecordRejectionCode; message: string } | undefined {
  const stack: { value: Record<string, unknown>; depth: number; path: string }[] = [{ value: doc, depth: 1, path: collection }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (depth > MAX_NESTING_DEPTH) {
      return { code: 'nested-too-deep', message: `${path}: the document is nested more than ${MAX_NESTING_DEPTH} levels deep.` };
    }
    for (const key of Object.keys(value)) {
      const p = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
      if (key === '__proto__') return { code: 'invalid-field-name', message: `${p}: the key "__proto__" is not allowed.` };
      const child = value[key];
      if (isContainer(child)) stack.push({ value: child, depth: depth + 1, path: p });
    }
  }
  return undefined;
}
