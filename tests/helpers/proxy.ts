/**
 * A raw TCP fault proxy (node:net) between the browser and the real server.
 * The page is loaded through it (same origin), so the service worker's
 * uploads pass through it too. It parses HTTP/1.1 in both directions
 * (request and response boundaries by Content-Length or chunked framing, so
 * keep-alive connections carrying several requests are handled one request
 * at a time) and applies an explicit queue of rules to upload requests
 * (`POST …/batches`), one rule per upload, in order:
 *
 * ```ts
 * proxy.nextUploads([
 *   { cutRequestAfterBytes: 3000 },                                 // network drop mid-request
 *   { cutResponseAfterBytes: 0 },                                   // response lost after the commit
 *   { delayResponseMs: 2500 },                                      // slower than the client's timeout
 *   { respond: { status: 503, headers: { 'Retry-After': '2' } } },  // canned answer, never forwarded
 *   { rewriteReply: (reply) => 'garbage' },                         // doctored confirmation
 *   { holdRequest: promise },                                       // forward only once `promise` settles
 * ]);
 * ```
 *
 * Every upload request is logged in {@link FaultProxy.uploadLog} with
 * timestamps, size, the records it carried, the server's verdicts and what
 * the proxy did. Everything else (page, SW script, auth, admin) passes
 * through byte for byte.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { BSON, type Binary, type Document } from 'bson';

/** A canned HTTP response the proxy writes instead of forwarding the request. */
export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. Default: the server's error shape, code `internal`. */
  body?: unknown;
}

/** Context handed to {@link UploadRule.rewriteReply}. */
export interface ReplyContext {
  /** The server's HTTP status. */
  status: number;
  /** Records in the upload request (undefined if its body could not be decoded). */
  records: number | undefined;
  /** The server's body as text. */
  text: string;
}

/** What to do to one upload request. Fields combine where that makes sense (e.g. hold + delay). */
export interface UploadRule {
  /**
   * Forward only the first N bytes of the request message (head + body),
   * then close both connections. A function is asked once the head is in:
   * e.g. `(head, body) => head + body / 2` cuts mid-body whatever the size.
   */
  cutRequestAfterBytes?: number | ((headBytes: number, bodyBytes: number) => number);
  /**
   * Forward the request; of the server's response forward only the first N
   * bytes (head + body), then close. 0: the response is lost. A function
   * gets the sizes of the server's response head and body.
   */
  cutResponseAfterBytes?: number | ((headBytes: number, bodyBytes: number) => number);
  /** Forward the request; hold the server's (already committed) response this long before forwarding it. */
  delayResponseMs?: number;
  /** Do not forward the request: answer it with this response once its body has arrived. */
  respond?: CannedResponse;
  /**
   * Forward the request; replace the server's JSON reply body by what this
   * returns (a string or Buffer is sent raw, anything else as JSON). The
   * argument is the parsed reply, or undefined if it was not JSON.
   */
  rewriteReply?: (reply: unknown, ctx: ReplyContext) => unknown;
  /** Hold the request at the proxy (nothing reaches the server) until this settles. */
  holdRequest?: Promise<unknown>;
  /** Free text shown in the log. */
  label?: string;
}

/** Verdict counts of a server reply. */
export interface Verdicts {
  stored: number;
  duplicate: number;
  rejected: number;
}

export type UploadOutcome =
  | 'in-flight'        // no answer yet
  | 'forwarded'        // the server's answer went to the client unchanged
  | 'request-cut'      // the connection was cut mid-request
  | 'response-cut'     // the connection was cut mid-response (0 bytes: response lost)
  | 'delayed'          // the server's answer was held, then forwarded
  | 'rewritten'        // the server's answer was replaced
  | 'responded'        // a canned answer, the server never saw the request
  | 'client-gone'      // the client closed the connection before it got an answer
  | 'upstream-gone';   // the server closed the connection before answering

/** One upload request seen by the proxy. */
export interface UploadLogEntry {
  /** 0-based index among upload requests. */
  n: number;
  /** Connection number (keep-alive: several requests share one). */
  conn: number;
  /** Date.now() when the request line arrived. */
  at: number;
  /** Date.now() when the whole request had arrived. */
  requestEndAt?: number;
  /** Date.now() when the client was answered (or the connection cut). */
  answeredAt?: number;
  /** Which rule applied (empty: none). */
  rule: string;
  headBytes: number;
  /** Content-Length of the request. */
  bodyBytes?: number;
  /** Records the upload carried, and the `seq` of the first and last (when the documents have one). */
  records?: number;
  firstSeq?: number;
  lastSeq?: number;
  /** The `seq` of every record it carried, in order. */
  seqs?: number[];
  /** The server's HTTP status (for a cut request: what it answered to the truncated body), response size (head + body, and head alone) and verdicts (absent when it never answered). */
  status?: number;
  responseBytes?: number;
  responseHeadBytes?: number;
  verdicts?: Verdicts;
  /** What the client got, if not the server's answer: canned status. */
  answeredStatus?: number;
  outcome: UploadOutcome;
}

// ─── an incremental HTTP/1.1 message parser ─────────────────────────────────

interface Head {
  raw: Buffer;
  method?: string;
  path?: string;
  status?: number;
  /** Lower-case names. */
  headers: Map<string, string>;
}

interface ParserHandlers {
  head(head: Head): void;
  /** `raw`: the bytes as framed on the wire; `data`: the payload they carry (chunk framing removed). */
  body(raw: Buffer, data: Buffer): void;
  end(): void;
}

const EMPTY = Buffer.alloc(0);
const MAX_HEAD = 64 * 1024;

/** Splits a byte stream into HTTP/1.1 messages; raw bytes are reported so the caller can forward them unchanged. */
class HttpParser {
  private buf: Buffer = EMPTY;
  private state: 'head' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'until-close' = 'head';
  private remaining = 0;

  constructor(
    private readonly kind: 'request' | 'response',
    private readonly on: ParserHandlers,
    /** Responses only: whether the current response has no body (answer to HEAD). */
    private readonly answersHead: () => boolean = () => false,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.step());
  }

  /** The stream ended: a body read until close is complete. */
  finish(): void {
    if (this.state === 'until-close') {
      this.state = 'head';
      this.on.end();
    }
  }

  /** Consumes what it can; returns whether to go on. */
  private step(): boolean {
    const b = this.buf;
    switch (this.state) {
      case 'head': {
        const i = b.indexOf('\r\n\r\n');
        if (i < 0) {
          if (b.length > MAX_HEAD) throw new Error('HTTP head too large');
          return false;
        }
        const raw = b.subarray(0, i + 4);
        this.buf = b.subarray(i + 4);
        const head = parseHead(raw);
        this.on.head(head);
        this.startBody(head);
        return true;
      }
      case 'fixed': {
        if (b.length === 0) return false;
        const n = Math.min(this.remaining, b.length);
        const part = b.subarray(0, n);
        this.buf = b.subarray(n);
        this.remaining -= n;
        this.on.body(part, part);
        if (this.remaining === 0) this.endMessage();
        return true;
      }
      case 'chunk-size': {
        const i = b.indexOf('\r\n');
        if (i < 0) return false;
        const line = b.subarray(0, i + 2);
        this.buf = b.subarray(i + 2);
        const size = parseInt(line.toString('latin1').split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size)) throw new Error('bad chunk size');
        this.on.body(line, EMPTY);
        if (size === 0) this.state = 'trailer';
        else {
          this.remaining = size;
          this.state = 'chunk-data';
        }
        return true;
      }
      case 'chunk-data': {
        if (b.length === 0) return false;
        const n = Math.min(this.remaining, b.length);
        const part = b.subarray(0, n);
        this.buf = b.subarray(n);
        this.remaining -= n;
        this.on.body(part, part);
        if (this.remaining === 0) this.state = 'chunk-crlf';
        return true;
      }
      case 'chunk-crlf': {
        if (b.length < 2) return false;
        this.on.body(b.subarray(0, 2), EMPTY);
        this.buf = b.subarray(2);
        this.state = 'chunk-size';
        return true;
      }
      case 'trailer': {
        const i = b.indexOf('\r\n');
        if (i < 0) return false;
        this.on.body(b.subarray(0, i + 2), EMPTY);
        this.buf = b.subarray(i + 2);
        if (i === 0) this.endMessage(); // the empty line that ends the trailers
        return true;
      }
      case 'until-close': {
        if (b.length === 0) return false;
        this.buf = EMPTY;
        this.on.body(b, b);
        return false;
      }
    }
  }

  private startBody(head: Head): void {
    const te = head.headers.get('transfer-encoding');
    const cl = head.headers.get('content-length');
    const status = head.status ?? 0;
    const bodiless = this.kind === 'response' && ((status >= 100 && status < 200) || status === 204 || status === 304 || this.answersHead());
    if (bodiless) this.endMessage();
    else if (te && /chunked/i.test(te)) this.state = 'chunk-size';
    else if (cl !== undefined) {
      this.remaining = Number(cl);
      if (this.remaining === 0) this.endMessage();
      else this.state = 'fixed';
    } else if (this.kind === 'request') this.endMessage();
    else this.state = 'until-close';
  }

  private endMessage(): void {
    this.state = 'head';
    this.on.end();
  }
}

function parseHead(raw: Buffer): Head {
  const lines = raw.toString('latin1').split('\r\n');
  const start = lines[0]!.split(' ');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  if (start[0]!.startsWith('HTTP/')) return { raw, status: Number(start[1]), headers };
  return { raw, method: start[0], path: start[1], headers };
}

const REASONS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** Builds an HTTP/1.1 response message. */
function buildResponse(status: number, headers: Array<[string, string]>, body: Buffer): Buffer {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}`];
  for (const [k, v] of headers) {
    if (!/^(content-length|transfer-encoding)$/i.test(k)) lines.push(`${k}: ${v}`);
  }
  lines.push(`content-length: ${body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body]);
}

function headerPairs(head: Head): Array<[string, string]> {
  const lines = head.raw.toString('latin1').split('\r\n').slice(1).filter((l) => l.includes(':'));
  return lines.map((l) => {
    const c = l.indexOf(':');
    return [l.slice(0, c), l.slice(c + 1).trim()];
  });
}

function describeRule(rule: UploadRule): string {
  const parts: string[] = [];
  if (rule.label) parts.push(rule.label);
  if (rule.holdRequest) parts.push('hold');
  const bytes = (n: number | Function): string => (typeof n === 'number' ? `${n} B` : 'N B');
  if (rule.cutRequestAfterBytes !== undefined) parts.push(`cut request after ${bytes(rule.cutRequestAfterBytes)}`);
  if (rule.cutResponseAfterBytes !== undefined) parts.push(`cut response after ${bytes(rule.cutResponseAfterBytes)}`);
  if (rule.delayResponseMs !== undefined) parts.push(`delay response ${rule.delayResponseMs} ms`);
  if (rule.respond) parts.push(`respond ${rule.respond.status}${rule.respond.headers ? ' ' + JSON.stringify(rule.respond.headers) : ''}`);
  if (rule.rewriteReply) parts.push('rewrite reply');
  return parts.join(', ');
}

/** Reads the upload body (BSON) for the log: record count and first/last `seq`. */
function describeUpload(body: Buffer): Pick<UploadLogEntry, 'records' | 'firstSeq' | 'lastSeq' | 'seqs'> {
  try {
    const doc = BSON.deserialize(body);
    const records = doc.records as Array<{ d: Binary }>;
    const seq = (r: { d: Binary } | undefined): number | undefined => {
      if (!r) return undefined;
      const d: Document = BSON.deserialize(r.d.buffer);
      return d.seq === undefined ? undefined : Number(d.seq);
    };
    const seqs = records.map(seq).filter((n): n is number => n !== undefined);
    return { records: records.length, firstSeq: seq(records[0]), lastSeq: seq(records[records.length - 1]), seqs };
  } catch {
    return {};
  }
}

function countVerdicts(text: string): Verdicts | undefined {
  try {
    const reply = JSON.parse(text) as { results?: Array<{ s?: string }> };
    if (!Array.isArray(reply.results)) return undefined;
    const v: Verdicts = { stored: 0, duplicate: 0, rejected: 0 };
    for (const r of reply.results) if (r && (r.s === 'stored' || r.s === 'duplicate' || r.s === 'rejected')) v[r.s]++;
    return v;
  } catch {
    return undefined;
  }
}

// ─── one proxied connection ────────────────────────────────────────────────

/** A request on a connection and the client-facing answer being assembled for it. */
interface Exchange {
  method: string;
  upload: boolean;
  rule: UploadRule;
  entry?: UploadLogEntry;
  /** Goes to the server (not canned). */
  forwarded: boolean;
  /** Request bytes sent upstream so far, and where to cut (cutRequestAfterBytes). */
  sentBytes: number;
  cutRequestAt: number | undefined;
  /** Upload request payload, collected for the log. */
  body: Buffer[];
  /** Upload response from the server, buffered whole before the rule applies. */
  respHead?: Head;
  respRaw: Buffer[];
  respData: Buffer[];
  /** Client-facing bytes ready to write, in order. */
  out: Buffer[];
  /** All of the client-facing answer is in `out`. */
  complete: boolean;
  /** Close the connection after writing `out`. */
  hangUp: boolean;
}

class Connection {
  private readonly upstream: Socket;
  /** Every request of this connection, in order; answers are written in this order. */
  private readonly exchanges: Exchange[] = [];
  /** Forwarded requests awaiting the server's answer, in order. */
  private readonly awaiting: Exchange[] = [];
  private current: Exchange | undefined;
  /** While a request is held, everything for upstream waits here. */
  private held: Buffer[] | undefined;
  /** The held bytes end with a cut. */
  private heldEnds = false;
  /** A cut request is being flushed to the server: do not destroy that socket early. */
  private upstreamEnding = false;
  private upstreamGone = false;
  private closed = false;
  private readonly reqParser: HttpParser;
  private readonly resParser: HttpParser;

  constructor(private readonly proxy: FaultProxy, private readonly client: Socket, private readonly id: number, targetPort: number) {
    this.upstream = connect(targetPort, '127.0.0.1');
    this.reqParser = new HttpParser('request', {
      head: (h) => this.onRequestHead(h),
      body: (raw, data) => this.onRequestBody(raw, data),
      end: () => this.onRequestEnd(),
    });
    this.resParser = new HttpParser('response', {
      head: (h) => this.onResponseHead(h),
      body: (raw, data) => this.onResponseBody(raw, data),
      end: () => this.onResponseEnd(),
    }, () => this.awaiting[0]?.method === 'HEAD');
    client.on('data', (chunk: Buffer) => this.guard(() => this.reqParser.push(chunk)));
    this.upstream.on('data', (chunk: Buffer) => this.guard(() => this.resParser.push(chunk)));
    this.upstream.on('end', () => this.guard(() => this.resParser.finish()));
    client.on('close', () => this.onClientClose()).on('error', () => this.close());
    this.upstream.on('close', () => this.onUpstreamClose()).on('error', () => this.onUpstreamClose());
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch {
      this.close(); // unparseable traffic: behave like a broken network
    }
  }

  // client → server

  private onRequestHead(head: Head): void {
    const method = head.method ?? '';
    const upload = this.proxy.isUpload(method, head.path ?? '');
    const rule = upload ? this.proxy.takeRule() : {};
    const ex: Exchange = {
      method, upload, rule, forwarded: !rule.respond, sentBytes: 0, cutRequestAt: undefined, body: [],
      respRaw: [], respData: [], out: [], complete: false, hangUp: false,
    };
    if (upload) {
      const cl = head.headers.get('content-length');
      ex.entry = this.proxy.logUpload({
        conn: this.id, at: Date.now(), rule: describeRule(rule), headBytes: head.raw.length,
        bodyBytes: cl === undefined ? undefined : Number(cl), outcome: 'in-flight',
      });
    }
    if (typeof rule.cutRequestAfterBytes === 'function') {
      ex.cutRequestAt = Math.floor(rule.cutRequestAfterBytes(head.raw.length, Number(head.headers.get('content-length') ?? 0)));
    } else ex.cutRequestAt = rule.cutRequestAfterBytes;
    if (ex.entry && ex.cutRequestAt !== undefined && typeof rule.cutRequestAfterBytes === 'function') ex.entry.rule += ` (${ex.cutRequestAt} B)`;
    this.current = ex;
    this.exchanges.push(ex);
    if (ex.forwarded) {
      if (this.upstreamGone) return this.close(); // the server hung up: as a real connection would be
      this.awaiting.push(ex);
      if (rule.holdRequest) this.hold(rule.holdRequest);
    }
    this.sendRequestBytes(ex, head.raw);
  }

  private onRequestBody(raw: Buffer, data: Buffer): void {
    const ex = this.current!;
    if (ex.upload) ex.body.push(Buffer.from(data));
    this.sendRequestBytes(ex, raw);
  }

  private onRequestEnd(): void {
    const ex = this.current!;
    this.current = undefined;
    if (ex.entry) {
      ex.entry.requestEndAt = Date.now();
      Object.assign(ex.entry, describeUpload(Buffer.concat(ex.body)));
      ex.body = [];
    }
    const canned = ex.rule.respond;
    if (canned) {
      const body = typeof canned.body === 'string'
        ? Buffer.from(canned.body)
        : Buffer.from(JSON.stringify(canned.body ?? { error: { code: 'internal', message: `injected by the test's fault proxy: HTTP ${canned.status}` } }));
      const given = Object.entries(canned.headers ?? {});
      const headers: Array<[string, string]> = given.some(([name]) => name.toLowerCase() === 'content-type')
        ? given
        : [['content-type', 'application/json; charset=utf-8'], ...given];
      ex.out.push(buildResponse(canned.status, headers, body));
      ex.complete = true;
      if (ex.entry) {
        ex.entry.outcome = 'responded';
        ex.entry.answeredStatus = canned.status;
      }
      this.flushOut();
    }
  }

  private sendRequestBytes(ex: Exchange, raw: Buffer): void {
    if (!ex.forwarded || this.closed) return;
    const limit = ex.cutRequestAt;
    if (limit === undefined) return this.sendUp(raw);
    const allowed = limit - ex.sentBytes;
    if (raw.length < allowed) {
      ex.sentBytes += raw.length;
      return this.sendUp(raw);
    }
    // The network drops here: the server gets a truncated request, the client a dead connection.
    ex.sentBytes += allowed;
    if (ex.entry) {
      ex.entry.outcome = 'request-cut';
      ex.entry.answeredAt = Date.now();
    }
    this.sendUp(raw.subarray(0, allowed), true);
    this.closed = true;
    this.client.destroy();
  }

  private sendUp(bytes: Buffer, last = false): void {
    if (this.held) {
      this.held.push(bytes);
      this.heldEnds ||= last;
      return;
    }
    if (last) {
      // Let the truncated request reach the server before the socket goes.
      this.upstreamEnding = true;
      this.upstream.end(bytes);
      setTimeout(() => this.upstream.destroy(), 5_000).unref();
    } else if (bytes.length > 0) this.upstream.write(bytes);
  }

  private hold(until: Promise<unknown>): void {
    this.held ??= [];
    const release = (): void => {
      const bytes = Buffer.concat(this.held ?? []);
      const ends = this.heldEnds;
      this.held = undefined;
      this.heldEnds = false;
      if (!this.closed) this.sendUp(bytes, ends);
    };
    until.then(release, release);
  }

  // server → client

  private onResponseHead(head: Head): void {
    const ex = this.awaiting[0];
    if (!ex) return this.close(); // an answer to nothing
    if (head.status !== undefined && head.status >= 100 && head.status < 200) {
      // Informational: pass it through; the final answer follows.
      ex.out.push(head.raw);
      return this.flushOut();
    }
    ex.respHead = head;
    if (ex.upload) ex.respRaw.push(head.raw);
    else {
      ex.out.push(head.raw);
      this.flushOut();
    }
  }

  private onResponseBody(raw: Buffer, data: Buffer): void {
    const ex = this.awaiting[0];
    if (!ex) return;
    if (ex.upload) {
      ex.respRaw.push(Buffer.from(raw));
      ex.respData.push(Buffer.from(data));
    } else {
      ex.out.push(Buffer.from(raw));
      this.flushOut();
    }
  }

  private onResponseEnd(): void {
    const ex = this.awaiting[0];
    if (!ex || !ex.respHead) return; // the end of an informational answer
    this.awaiting.shift();
    if (ex.upload) this.answerUpload(ex);
    else {
      ex.complete = true;
      this.flushOut();
    }
  }

  /** The server answered an upload in full: apply the rule. */
  private answerUpload(ex: Exchange): void {
    const entry = ex.entry!;
    const head = ex.respHead!;
    const raw = Buffer.concat(ex.respRaw);
    const text = Buffer.concat(ex.respData).toString('utf8');
    entry.status = head.status;
    entry.responseBytes = raw.length;
    entry.responseHeadBytes = head.raw.length;
    entry.verdicts = countVerdicts(text);
    if (entry.outcome === 'request-cut') return; // what the server said to half a request; the client is gone
    const rule = ex.rule;
    if (rule.cutResponseAfterBytes !== undefined) {
      const at = typeof rule.cutResponseAfterBytes === 'function'
        ? Math.floor(rule.cutResponseAfterBytes(head.raw.length, raw.length - head.raw.length))
        : rule.cutResponseAfterBytes;
      if (typeof rule.cutResponseAfterBytes === 'function') entry.rule += ` (${at} B)`;
      ex.out.push(raw.subarray(0, at));
      ex.complete = true;
      ex.hangUp = true;
      entry.outcome = 'response-cut';
      if (at === 0) this.proxy.dropped++;
    } else if (rule.rewriteReply) {
      let reply: unknown;
      try {
        reply = JSON.parse(text);
      } catch {
        reply = undefined;
      }
      const doctored = rule.rewriteReply(reply, { status: head.status ?? 0, records: entry.records, text });
      const body = Buffer.isBuffer(doctored) ? doctored : Buffer.from(typeof doctored === 'string' ? doctored : JSON.stringify(doctored));
      ex.out.push(buildResponse(head.status ?? 200, headerPairs(head), body));
      ex.complete = true;
      entry.outcome = 'rewritten';
    } else {
      ex.out.push(raw);
      entry.outcome = rule.delayResponseMs !== undefined ? 'delayed' : 'forwarded';
    }
    if (rule.delayResponseMs !== undefined) {
      setTimeout(() => {
        ex.complete = true;
        this.flushOut();
      }, rule.delayResponseMs);
    } else {
      ex.complete = true;
      this.flushOut();
    }
  }

  /** Writes the answers that are ready, in request order. */
  private flushOut(): void {
    while (!this.closed && this.exchanges.length > 0) {
      const ex = this.exchanges[0]!;
      if (ex.out.length > 0) {
        const bytes = Buffer.concat(ex.out);
        ex.out = [];
        if (ex.hangUp) {
          if (ex.entry) ex.entry.answeredAt = Date.now();
          this.closed = true;
          this.upstream.destroy();
          if (bytes.length > 0) this.client.end(bytes, () => this.client.destroy());
          else this.client.destroy();
          return;
        }
        this.client.write(bytes);
      }
      if (!ex.complete) return;
      if (ex.entry) ex.entry.answeredAt = Date.now();
      this.exchanges.shift();
    }
    if (this.upstreamGone && this.exchanges.length === 0) this.close();
  }

  private onClientClose(): void {
    for (const ex of this.exchanges) {
      if (ex.entry && (ex.entry.outcome === 'in-flight' || (ex.entry.outcome === 'delayed' && !ex.complete))) ex.entry.outcome = 'client-gone';
    }
    this.close();
  }

  private onUpstreamClose(): void {
    if (this.upstreamGone) return;
    this.upstreamGone = true;
    // Answers that no longer need the server (canned, delayed) still go out; a request the server never answered is lost.
    if (this.awaiting.length > 0) {
      for (const ex of this.awaiting) if (ex.entry?.outcome === 'in-flight') ex.entry.outcome = 'upstream-gone';
      this.close();
    } else if (this.exchanges.length === 0) this.close();
  }

  close(): void {
    this.closed = true;
    this.client.destroy();
    if (!this.upstreamEnding) this.upstream.destroy();
    this.proxy.forget(this);
  }
}

// ─── the proxy ─────────────────────────────────────────────────────────────

export class FaultProxy {
  /** Upload responses still to swallow (shorthand for `{ cutResponseAfterBytes: 0 }` when no rule is queued). */
  dropUploadResponses = 0;
  /** Upload responses swallowed. */
  dropped = 0;
  /** Every upload request, in arrival order. */
  readonly uploadLog: UploadLogEntry[] = [];
  port = 0;
  /** Which requests are uploads. */
  isUpload: (method: string, path: string) => boolean = (method, path) => method === 'POST' && /\/batches(\?|$)/.test(path);
  private readonly rules: UploadRule[] = [];
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private connectionCount = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly targetPort: () => number) {
    this.server = createServer((client) => {
      this.connections.add(new Connection(this, client, ++this.connectionCount, this.targetPort()));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Upload requests seen (each `POST …/batches`). */
  get uploads(): number {
    return this.uploadLog.length;
  }

  /** Rules not yet used. */
  get rulesLeft(): number {
    return this.rules.length;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Queues rules for the next uploads, one rule per upload request, in order. */
  nextUploads(rules: UploadRule[]): this {
    this.rules.push(...rules);
    return this;
  }

  /** Drops the rules not used yet. */
  clearRules(): void {
    this.rules.length = 0;
    this.dropUploadResponses = 0;
  }

  /** Resolves once `count` upload requests have arrived. */
  /**
   * The most uploads that were in flight at once (from a request's arrival
   * to its answer), and how many records were in two uploads in flight at
   * the same time: what two uploaders reading the same outbox would do (one
   * uploader's pipelined batches are disjoint; a re-send follows its answer).
   */
  concurrency(): { maxInFlight: number; overlaps: number } {
    const spans = this.uploadLog.map((e) => ({ from: e.at, to: e.answeredAt ?? Infinity, seqs: new Set(e.seqs ?? []) }));
    let maxInFlight = 0;
    let overlaps = 0;
    for (const [i, a] of spans.entries()) {
      let inFlight = 1;
      for (const [j, b] of spans.entries()) {
        if (i === j || !(b.from <= a.from && a.from < b.to)) continue;
        inFlight++;
        if (j < i) for (const s of a.seqs) if (b.seqs.has(s)) overlaps++;
      }
      maxInFlight = Math.max(maxInFlight, inFlight);
    }
    return { maxInFlight, overlaps };
  }

  async waitForUploads(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.uploadLog.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for upload #${count} (saw ${this.uploadLog.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1_000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Cuts every open connection at once, mid-whatever: a network blip. Returns how many. */
  cutAll(): number {
    const n = this.connections.size;
    for (const c of [...this.connections]) c.close();
    return n;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((r) => this.server.close(r));
  }

  /** @internal */
  takeRule(): UploadRule {
    const rule = this.rules.shift();
    if (rule) return rule;
    if (this.dropUploadResponses > 0) {
      this.dropUploadResponses--;
      return { cutResponseAfterBytes: 0, label: 'drop response' };
    }
    return {};
  }

  /** @internal */
  logUpload(entry: Omit<UploadLogEntry, 'n'>): UploadLogEntry {
    const full = { n: this.uploadLog.length, ...entry };
    this.uploadLog.push(full);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    return full;
  }

  /** @internal */
  forget(c: Connection): void {
    this.connections.delete(c);
  }
}
