/**
 * A plain static web host of the kind many sites sit on: it serves the test
 * page and the built files, and answers every other request, POST included,
 * with its HTML page and 200 (a single-page app's fallback). An `open()`
 * whose endpoint points here instead of at the sw-ingest API gets HTML
 * where it expects a session or a confirmation: the "wrong endpoint that
 * looks like success" case. Random port on 127.0.0.1; `close()` tears down.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeSite } from './server.js';

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

export class HtmlFallbackHost {
  private server: Server | undefined;
  private readonly site = makeSite();
  /** Requests that got the HTML fallback, as `METHOD /path`. */
  readonly fallbacks: string[] = [];

  async start(): Promise<this> {
    const page = readFileSync(join(this.site, 'index.html'));
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const file = path === '/' ? 'index.html' : path.slice(1);
      const ext = file.slice(file.lastIndexOf('.'));
      if (req.method === 'GET' && /^[\w.-]+$/.test(file) && TYPES[ext]) {
        try {
          const body = readFileSync(join(this.site, file));
          res.writeHead(200, { 'content-type': TYPES[ext]!, 'cache-control': 'no-cache' }).end(body);
          return;
        } catch {
          // not a file of the site: the fallback below
        }
      }
      this.fallbacks.push(`${req.method} ${path}`);
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
