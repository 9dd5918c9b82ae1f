/**
 * One upload: a batch from the outbox → one `POST {endpoint}/batches` →
 * the server's per-record verdict. Gets a fresh session first (lib/sessions.ts),
 * so a record queued a week ago is sent with a fresh token.
 */
import { BSON_CONTENT_TYPE, PATHS, PROTOCOL_VERSION, encodeBatchBody, endpointUrl, parseUploadReply, speaksProtocol, type RecordResult } from '../core/protocol.js';
import { endpointNotFound, failure, post, UploadFailure } from '../lib/api-requests.js';
import type { Batch, OutboxDb, StoredConfig } from '../lib/outbox-db.js';
import { freshSession } from '../lib/sessions.js';

/**
 * Uploads one batch and returns the server's verdict per record, or throws
 * an {@link UploadFailure}. A reply that does not account for every record
 * confirms nothing (`bad-response`, retried: the server deduplicates); a
 * malformed entry leaves its record unconfirmed (`undefined`).
 */
export async function uploadBatch(db: OutboxDb, config: StoredConfig, batch: Batch): Promise<Array<RecordResult | undefined>> {
  const body = encodeBatchBody(config.clientId, new Date(), batch.records);
  const url = endpointUrl(config.endpoint, PATHS.batches);
  let session = await freshSession(db, config);
  for (let attempt = 0; ; attempt++) {
    const res = await post(url, {
      headers: { 'Content-Type': BSON_CONTENT_TYPE, Authorization: `Bearer ${session.accessToken}` },
      body,
    }, config.retry.requestTimeoutMs);
    if (res.status === 401 && attempt === 0) {
      // The token expired or the server's key changed: refresh once, then resend.
      session = await freshSession(db, config, true);
      continue;
    }
    if (!res.ok) throw await failure(res, `POST ${url}`, url);
    // Not JSON (an HTML page), or JSON without this protocol's version
    // (another service): not the API's answer. Retried all the same: after a
    // commit, a middlebox may have replaced a real confirmation, and the
    // re-send is answered duplicate. JSON that does not parse (a truncated
    // body) is a broken confirmation: bad-response, below.
    const type = res.headers.get('Content-Type') ?? '';
    if (!/^application\/json\b/i.test(type)) {
      throw endpointNotFound(url, `HTTP ${res.status} ${type === '' ? 'without a Content-Type' : type}, not an sw-ingest confirmation`, 'retry');
    }
    let reply: unknown;
    try {
      reply = await res.json();
    } catch {
      reply = undefined;
    }
    if (reply !== undefined && !speaksProtocol(reply)) {
      throw endpointNotFound(url, `HTTP ${res.status}, but the reply is not an sw-ingest confirmation of protocol ${PROTOCOL_VERSION}`, 'retry');
    }
    const results = parseUploadReply(reply, batch.records.length);
    if (!results) {
      throw new UploadFailure('bad-response', `POST ${url}: the reply does not confirm the ${batch.records.length} records sent`, 'retry');
    }
    return results;
  }
}
