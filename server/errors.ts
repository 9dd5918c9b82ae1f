/**
 * Every 4xx/5xx the server sends is an {@link ErrorReply} whose code comes
 * from the shared {@link SERVER_ERRORS} catalogue, with the catalogue's
 * status — including fastify's own errors (unknown route, body limit, media
 * type, JSON syntax), which {@link installErrorHandlers} translates. Like
 * fastify's `lib/errors.js`, but the catalogue lives in `core/protocol.ts` so
 * that the service worker reads the same codes it is sent.
 *
 * A database that is down, busy or full is not a server failure: the sinks
 * throw {@link DatabaseUnavailableError} for it, answered 503
 * `database-unavailable` with `Retry-After`, which the service worker
 * treats like a rate limit (it waits at least that long and retries).
 * Only other errors are 500 `internal`.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { SERVER_ERRORS, type ErrorReply, type ServerErrorCode } from '../core/protocol.js';
import { DatabaseUnavailableError } from './store.js';

/**
 * The `Retry-After` of every 503 `database-unavailable`, in seconds: long
 * enough for a restart or a failover to make progress, short enough that
 * devices resume soon after. The service worker waits at least this long,
 * and longer as its own backoff grows.
 */
export const DATABASE_RETRY_AFTER_SEC = 2;

/** Extra fields of an error reply beyond the code. */
export interface ErrorDetails {
  /** Replaces the catalogue's generic message; must stand alone and name the input. */
  message?: string;
  /** For `unknown-collection`: the collection the upload named. */
  collection?: string;
}

/**
 * Sends the catalogue entry `code` as `{error: {code, message, ...}}` with its
 * HTTP status. Returns the reply so hooks and handlers can `return sendError(...)`.
 *
 * @param reply - the fastify reply
 * @param code - a code of {@link SERVER_ERRORS}
 * @param details - a specific message and extra fields
 * @example
 * ```ts
 * return sendError(reply, 'unknown-collection', { collection: 'Nope', message: 'records[2].c: "Nope" is not an asymmetric type' });
 * ```
 */
export function sendError(reply: FastifyReply, code: ServerErrorCode, details: ErrorDetails = {}): FastifyReply {
  const entry = SERVER_ERRORS[code];
  const error: ErrorReply['error'] = { code, message: details.message ?? entry.message };
  if (details.collection !== undefined) error.collection = details.collection;
  if (entry.status === 401) reply.header('www-authenticate', 'Bearer');
  if (code === 'database-unavailable') reply.header('retry-after', String(DATABASE_RETRY_AFTER_SEC));
  return reply.code(entry.status).type('application/json; charset=utf-8').send({ error } satisfies ErrorReply);
}

/** Which catalogue code stands for one of fastify's (or a plugin's) own errors. */
function codeForFastifyError(err: FastifyError): ServerErrorCode {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'body-too-large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported-media-type';
  }
  switch (err.statusCode) {
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not-found';
    case 413: return 'body-too-large';
    case 408: return 'request-timeout';
    case 415: return 'unsupported-media-type';
    case 429: return 'rate-limited';
  }
  const status = err.statusCode ?? 500;
  return status >= 400 && status < 500 ? 'bad-request' : 'internal';
}

/**
 * Installs the error and not-found handlers that keep every error reply in
 * the catalogue's shape. 5xx replies carry only the catalogue message (the
 * error itself goes to the log), so no stack or SQL ever reaches a client.
 *
 * @param app - the fastify instance, before routes are registered
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'not-found', { message: `No route ${request.method} ${request.url.split('?')[0]}.` }),
  );
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof DatabaseUnavailableError) {
      // The message names the driver's error and code; its stack says nothing, and an outage logs one per request.
      request.log.warn({ reason: err.message }, 'database unavailable; answered 503');
      return sendError(reply, 'database-unavailable');
    }
    const code = codeForFastifyError(err);
    if (code === 'internal') {
      request.log.error({ err }, 'request failed');
      return sendError(reply, 'internal');
    }
    // fastify's 4xx messages describe the request ("Unexpected token … in JSON"), never the server.
    return sendError(reply, code, code === 'bad-request' ? { message: err.message } : {});
  });
}

/**
 * fastify's `clientErrorHandler`: answers what Node's HTTP parser refuses
 * before a request exists (a request not received within `requestTimeout`,
 * headers too large, bytes that are not HTTP) with a catalogue body, and
 * hangs up. Unlike fastify's default it logs nothing of the error, whose
 * `rawPacket` may hold the request's headers, bearer tokens included.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ServerErrorCode = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request-timeout' : 'bad-request';
  const { status } = SERVER_ERRORS[code];
  const message = code === 'request-timeout'
    ? SERVER_ERRORS['request-timeout'].message
    : err.code === 'HPE_HEADER_OVERFLOW' ? 'The request headers are too large.' : 'The request is not valid HTTP.';
  const body = JSON.stringify({ error: { code, message } } satisfies ErrorReply);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
