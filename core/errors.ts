/**
 * Every error sw-ingest raises on the page is an {@link IngestError} with a
 * stable, kebab-case `code`. Codes are listed in the README ("Error codes");
 * a test keeps that list and {@link ERROR_CODES} in agreement.
 */

/** The codes an {@link IngestError} can carry, with what each means. */
export const ERROR_CODES = {
  // Options and schema, at open()
  'invalid-option': 'An option passed to open() is missing or has the wrong type or range; the message names it. Nothing was written.',
  'invalid-schema': 'The schema passed to open() breaks a rule; the message names the type and property.',
  // Validation, at ingest()
  'unknown-type': 'ingest() named a type that the schema does not declare, or one that is not asymmetric.',
  'unknown-field': 'The document has a field that its type does not declare.',
  'missing-field': 'A required (non-optional) field is absent, null or undefined.',
  'wrong-type': 'A value does not have the type its property declares.',
  'int-out-of-range': 'An int value is outside the signed 64-bit range.',
  'not-an-integer': 'An int value has a fractional part or is not finite.',
  'invalid-field-name': 'A field or dictionary key starts with "$" or contains "." or NUL.',
  'document-too-large': 'The document is larger than 16 MiB once encoded as BSON.',
  'nested-too-deep': 'The document nests objects, lists and dictionaries more than 100 levels deep.',
  'cyclic-value': 'The document contains a reference cycle.',
  // Outbox and delivery
  'outbox-full': 'The write would take the outbox past its cap (maxPendingRecords / maxPendingBytes); nothing was queued.',
  'quota-exceeded': "The browser's storage quota for this origin is exhausted; nothing was queued, queued records are kept.",
  'storage-failed': 'IndexedDB refused the write (private mode, a closed database, a disk error); nothing was queued.',
  'closed': 'The client was closed with close(); open a new one.',
  'not-supported': 'This browser lacks a platform feature sw-ingest needs (IndexedDB or service workers).',
  'service-worker-failed': 'The service worker could not be registered or did not activate.',
  'logged-out': 'logOut() was called; nothing uploads until open() logs in again.',
  'pending-records': 'logOut() could not upload every queued record; flush later, or logOut({ discardPending: true }).',
  'paused': 'Uploads are paused with pause(); records stay queued until resume().',
  'endpoint-not-found': 'The endpoint given to open() is not an sw-ingest API (404/405, an HTML page, no or another protocol version): records stay queued; fix the endpoint.',
  'network-error': 'The backend could not be reached.',
  'timeout': 'The operation did not finish within its time limit.',
  'auth-failed': 'The backend refused the credentials (401/403) and logging in again did not help.',
  'server-error': 'The backend answered with an error status it did not explain.',
  'rate-limited': 'The backend asked to retry later (429/503 with Retry-After) beyond the time allowed.',
  'bad-response': 'The backend answered with a body that is not a valid confirmation.',
  'rejected-by-server': 'The backend rejected the whole request (bad request, unknown collection).',
} as const;

/** A stable error code; see {@link ERROR_CODES}. */
export type IngestErrorCode = keyof typeof ERROR_CODES;

/** What crosses from the service worker to the page: an error as plain data. */
export interface SerializedError {
  code: IngestErrorCode;
  message: string;
  path?: string;
}

/**
 * The one error class of sw-ingest.
 *
 * @example
 * ```ts
 * try { await client.ingest('Reading', doc); }
 * catch (e) { if (e instanceof IngestError && e.code === 'wrong-type') console.warn(e.path, e.message); }
 * ```
 */
export class IngestError extends Error {
  /** The stable code, one of {@link ERROR_CODES}. */
  readonly code: IngestErrorCode;
  /** For validation errors: where in the document, e.g. `Sample.pts[1].label`. */
  readonly path: string | undefined;

  /**
   * @param code - the stable code
   * @param message - a message that stands alone and names the input
   * @param options - `path` of the offending value and the underlying `cause`
   */
  constructor(code: IngestErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IngestError';
    this.code = code;
    this.path = options.path;
  }

  /** Plain data for `postMessage` or IndexedDB. */
  toJSON(): SerializedError {
    return this.path === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, path: this.path };
  }

  /** Rebuilds an error that crossed a message boundary as {@link SerializedError}. */
  static from(data: SerializedError): IngestError {
    const code = data.code in ERROR_CODES ? data.code : 'server-error';
    return new IngestError(code, data.message, data.path === undefined ? {} : { path: data.path });
  }
}

/**
 * The message of an `endpoint-not-found` error: it names the URL that
 * answered and why the answer is not the API's.
 *
 * @param url - the URL that was asked
 * @param why - what came back, e.g. `HTTP 404`
 */
export function endpointNotFoundMessage(url: string, why: string): string {
  return `${url} is not an sw-ingest API (${why}): check the endpoint given to open(), e.g. '/api/ingest'; records stay queued`;
}
