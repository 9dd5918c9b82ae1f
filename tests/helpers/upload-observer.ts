/**
 * An HTTP pass-through in front of the server that watches uploads: how
 * many `POST …/batches` were in flight at once. Everything else passes
 * untouched.
 */
import { createServer, request, type Server } from 'node:http';

export class UploadObserver {
  inFlight = 0;
  maxInFlight = 0;
  uploads = 0;
  port = 0;
  private readonly server: Server;

  constructor(private readonly targetPort: () => number) {
    this.server = createServer((req, res) => {
      const isUpload = req.method === 'POST' && (req.url ?? '').endsWith('/batches');
      if (isUpload) {
        this.uploads++;
        this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
      }
      let done = false;
      const finish = (): void => {
        if (isUpload && !done) this.inFlight--;
        done = true;
      };
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
