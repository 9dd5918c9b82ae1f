/**
 * A load balancer for tests: an HTTP pass-through that sends each request
 * to the next of several servers in turn, so one page (one origin, one
 * service worker) uploads through all of them. It keeps every upload's
 * answer — when, which server, status, `Retry-After`, and per record
 * whether it was answered `stored` — for counts by status and the
 * exactly-once checks of the HA tests. A server that cannot be reached is
 * answered 502 and logged as `network-error`.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { BSON, type Binary } from 'bson';
import type { RecordResult } from '../../core/protocol.js';

/** One upload as the proxy saw it. */
export interface ProxiedUpload {
  /** When the answer arrived (`Date.now()`). */
  at: number;
  /** Index of the server it went to. */
  server: number;
  status: number | 'network-error';
  retryAfter: string | null;
  /** How many of its records were answered `stored` (0 unless 200). */
  stored: number;
  records: number;
  /** The error code of an answer other than 200 (`database-unavailable`, …). */
  code?: string;
}

/** The `_id`s (hex) of the records in an upload body; none when it does not decode. */
function recordIds(body: Buffer): string[] {
  try {
    const { records } = BSON.deserialize(body) as { records: { d: Binary }[] };
    return records.map((r) => String(BSON.deserialize(r.d.buffer.subarray(0, r.d.position))._id));
  } catch {
    return [];
  }
}

export class RoundRobinProxy {
  port = 0;
  readonly uploads: ProxiedUpload[] = [];
  /** Times each record `_id` (hex) was answered `stored`: more than 1 would be a confirmed record lost and stored again. */
  readonly storedAnswers = new Map<string, number>();
  private next = 0;
  private readonly server: Server;
  private readonly agent = new Agent({ keepAlive: true });

  /** @param targets - the servers' ports, read at each request (a restarted server keeps its port) */
  constructor(private readonly targets: () => readonly number[]) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const ports = this.targets();
        const server = this.next++ % ports.length;
        const isUpload = req.method === 'POST' && (req.url ?? '').endsWith('/batches');
        const headers: IncomingHttpHeaders = { ...req.headers, host: `127.0.0.1:${ports[server]}` };
        const upstream = request({ host: '127.0.0.1', port: ports[server], method: req.method, path: req.url, headers, agent: this.agent }, (up) => {
          const answer: Buffer[] = [];
          up.on('data', (c: Buffer) => answer.push(c));
          up.on('end', () => {
            const text = Buffer.concat(answer);
            if (isUpload) this.record(server, up.statusCode ?? 0, up.headers['retry-after'] ?? null, body, text);
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(text);
          });
          up.on('error', () => res.destroy());
        });
        upstream.on('error', () => {
          if (isUpload) this.uploads.push({ at: Date.now(), server, status: 'network-error', retryAfter: null, stored: 0, records: 0 });
          if (!res.headersSent) res.writeHead(502).end();
          else res.destroy();
        });
        upstream.end(body);
      });
    });
  }

  private record(server: number, status: number, retryAfter: string | string[] | null, body: Buffer, answer: Buffer): void {
    const ids = recordIds(body);
    let stored = 0;
    let code: string | undefined;
    if (status !== 200) {
      try {
        code = (JSON.parse(answer.toString('utf8')) as { error: { code: string } }).error.code;
      } catch {
        code = 'not-json';
      }
    } else {
      const { results } = JSON.parse(answer.toString('utf8')) as { results: RecordResult[] };
      results.forEach((r, i) => {
        if (r.s !== 'stored') return;
        stored++;
        const id = ids[i] ?? `undecoded-${i}`;
        this.storedAnswers.set(id, (this.storedAnswers.get(id) ?? 0) + 1);
      });
    }
    this.uploads.push({ at: Date.now(), server, status, retryAfter: Array.isArray(retryAfter) ? retryAfter[0]! : retryAfter, stored, records: ids.length, ...(code === undefined ? {} : { code }) });
  }

  /** Counts of uploads by status, e.g. `{ '200': 40, '503': 6 }`. */
  tally(since = 0): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const u of this.uploads) if (u.at >= since) counts[String(u.status)] = (counts[String(u.status)] ?? 0) + 1;
    return counts;
  }

  /** e.g. `200: 40, 503: 6` */
  tallyText(since = 0): string {
    return Object.entries(this.tally(since)).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`).join(', ');
  }

  /** The URL the page is loaded from. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.agent.destroy();
    await new Promise((r) => this.server.close(r));
  }
}
