/**
 * An HTTP pass-through in front of the server that watches uploads: how
 * many `POST …/batches` were in flight at once, and whether any record was
 * in two of them at once (what two uploaders reading the same outbox would
 * do; one uploader's pipelined batches are disjoint). Everything else
 * passes untouched.
 */
import { createServer, request, type Server } from 'node:http';
import { BSON, type Binary } from 'bson';

/** The `_id`s (hex) of the records in an upload body; none when it does not decode. */
function recordIds(body: Buffer): string[] {
  try {
    const { records } = BSON.deserialize(body) as { records: { d: Binary }[] };
    return records.map((r) => String(BSON.deserialize(r.d.buffer.subarray(0, r.d.position))._id));
  } catch {
    return [];
  }
}

export class UploadObserver {
  inFlight = 0;
  maxInFlight = 0;
  uploads = 0;
  /** Records that were in two uploads in flight at the same time. */
  overlaps = 0;
  port = 0;
  private readonly sending = new Set<string>();
  private readonly server: Server;

  constructor(private readonly targetPort: () => number) {
    this.server = createServer((req, res) => {
      const isUpload = req.method === 'POST' && (req.url ?? '').endsWith('/batches');
      if (isUpload) {
        this.uploads++;
        this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
      }
      let done = false;
      let ids: string[] = [];
      const finish = (): void => {
        if (isUpload && !done) {
          this.inFlight--;
          for (const id of ids) this.sending.delete(id);
        }
        done = true;
      };
      if (isUpload) {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          if (done) return;
          ids = recordIds(Buffer.concat(chunks));
          for (const id of ids) {
            if (this.sending.has(id)) this.overlaps++;
            this.sending.add(id);
          }
        });
      }
      const upstream = request(
        { host: '127.0.0.1', port: this.targetPort(), method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on('end', finish);
        },
      );
      upstream.on('error', () => {
        finish();
        res.destroy();
      });
      res.on('close', finish);
      req.pipe(upstream);
    });
  }

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
    await new Promise((r) => this.server.close(r));
  }
}
