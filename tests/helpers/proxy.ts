/**
 * A TCP proxy between the browser and the server that can lose responses
 * for real: it forwards an upload request, lets the server commit and
 * answer, and then closes the browser's connection instead of forwarding
 * the answer — the "response lost after commit" fault.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class FaultProxy {
  /** Upload responses still to swallow. */
  dropUploadResponses = 0;
  /** Upload requests seen (each `POST …/batches`). */
  uploads = 0;
  /** Upload responses swallowed. */
  dropped = 0;
  port = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly targetPort: () => number) {
    this.server = createServer((client) => this.handle(client));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private handle(client: Socket): void {
    const upstream = connect(this.targetPort(), '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let dropping = false;
    client.on('data', (chunk) => {
      if (chunk.subarray(0, 64).toString('latin1').startsWith('POST /api/ingest/batches')) {
        this.uploads++;
        if (this.dropUploadResponses > 0) {
          this.dropUploadResponses--;
          dropping = true;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (dropping) {
        // The server has committed and answered; the browser never hears it.
        this.dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}
