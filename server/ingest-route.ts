/**
 * `POST {prefix}/batches`: the confirm step of the data path. Authenticates,
 * re-validates every record against the schema, writes the valid ones in one
 * idempotent transaction, and answers only after the commit.
 */
import { BSON, calculateObjectSize, type Document } from 'bson';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IngestError } from '../lib/errors.js';
import {
  BSON_CONTENT_TYPE, MAX_DOCUMENT_BYTES, PATHS, PROTOCOL_VERSION,
  type RecordResult, type UploadRecord, type UploadReply,
} from '../lib/protocol.js';
import { convertDocument, primaryKeyString, type ParsedSchema } from '../lib/schema.js';
import { requireUser, type TokenIssuer } from './auth.js';
import { decodeUpload } from './decode-upload.js';
import { sendError } from './errors.js';
import type { Store, StoredRow } from './store.js';

/** Options of {@link registerIngestRoute}. */
export interface IngestRouteOptions {
  store: Store;
  schema: ParsedSchema;
  issuer: TokenIssuer;
  /** Largest accepted body; larger ones get 413 `body-too-large`. */
  bodyLimitBytes: number;
  /** Most records per upload; more get 400 `too-many-records`. */
  maxRecordsPerBatch: number;
}

/**
 * Registers `POST /batches` (see {@link PATHS}) on `app`, under whatever
 * prefix `app` was registered with, with its `application/bson` body parser.
 *
 * @param app - an encapsulated plugin context (the parser stays inside it)
 * @param options - see {@link IngestRouteOptions}
 */
export function registerIngestRoute(app: FastifyInstance, options: IngestRouteOptions): void {
  const { store, schema } = options;
  app.decorateRequest('userId', ''); // declared up front so fastify keeps one request shape
  app.addContentTypeParser(BSON_CONTENT_TYPE, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post<{ Body: Buffer }>(PATHS.batches, {
    bodyLimit: options.bodyLimitBytes,
    // Both run before the body is read: a refused upload costs no parsing.
    onRequest: [requireUser(options.issuer), requireBsonBody],
  }, async (request, reply) => {
    const decoded = decodeUpload(request.body, schema, options.maxRecordsPerBatch);
    if (!decoded.ok) return sendError(reply, decoded.problem.code, decoded.problem);
    const { client, sentAt, records } = decoded.upload;

    const results: RecordResult[] = new Array(records.length);
    const rows: StoredRow[] = [];
    const rowIndex: number[] = []; // rows[k] answers records[rowIndex[k]]
    const receivedAt = Date.now();
    for (const [i, record] of records.entries()) {
      const checked = checkRecord(schema, record, i);
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
    // A failure here throws to the error handler: 500 `internal`, nothing committed.
    const outcomes = await store.insertBatch(rows);
    outcomes.forEach((s, k) => { results[rowIndex[k]!] = { s }; });
    return { v: PROTOCOL_VERSION, results } satisfies UploadReply;
  });
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

/**
 * Decodes one record's document and validates it in `wire` mode (exact BSON
 * types only). The stored bytes are re-serialized from the converted
 * document, never the client's bytes, so nothing unvalidated is kept.
 */
function checkRecord(schema: ParsedSchema, record: UploadRecord, i: number): CheckedRecord {
  const reject = (code: string, message: string): CheckedRecord => ({ rejected: { s: 'rejected', code, message } });
  let doc: Document;
  try {
    doc = BSON.deserialize(record.d.buffer.subarray(0, record.d.position), { promoteValues: false });
  } catch (err) {
    return reject('malformed-body', `records[${i}].d is not a BSON document: ${(err as Error).message}.`);
  }
  try {
    const converted = convertDocument(schema, record.c, doc, 'wire');
    if (calculateObjectSize(converted) > MAX_DOCUMENT_BYTES) {
      return reject('document-too-large', `records[${i}]: the document is larger than ${MAX_DOCUMENT_BYTES} bytes as BSON.`);
    }
    // Keys are text columns in every sink, and PostgreSQL's text cannot hold NUL.
    if (typeof converted._id === 'string' && converted._id.includes('\0')) {
      return reject('wrong-type', `${record.c}._id: a string primary key must not contain NUL (U+0000).`);
    }
    return { id: primaryKeyString(converted._id), bytes: BSON.serialize(converted) };
  } catch (err) {
    if (err instanceof IngestError) return reject(err.code, err.message);
    // The validator recurses; a document nested thousands deep exhausts the stack.
    if (err instanceof RangeError) return reject('malformed-body', `records[${i}]: the document is nested too deeply.`);
    throw err;
  }
}
