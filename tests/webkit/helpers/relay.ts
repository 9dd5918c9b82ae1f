/**
 * Byte relays between a loopback TCP port and a Unix socket path, the way
 * across network namespaces (netns.ts): filesystem Unix sockets are shared
 * by all namespaces, loopback ports are not.
 *
 * Run as a program (`node --import tsx relay.ts listen=connect…`, each side
 * `tcp:PORT` on 127.0.0.1 or `unix:PATH`), it starts those relays, prints
 * "ready" once all listen, and runs until SIGTERM. It imports nothing else
 * of the project, so it starts fast inside a namespace.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** One end of a relay: a loopback TCP port or a Unix socket path. */
export type Endpoint = { port: number } | { path: string };

/** Listens at `from` and pipes each connection to a new connection to `to`. */
export function relay(from: Endpoint, to: Endpoint): Promise<Server> {
  const server = createServer((inbound: Socket) => {
    const outbound = 'port' in to ? createConnection(to.port, '127.0.0.1') : createConnection(to.path);
    inbound.pipe(outbound).pipe(inbound);
    // Refused or reset on one side: drop the other at once (what a closed port looks like to the client).
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if ('port' in from) server.listen(from.port, '127.0.0.1', () => resolve(server));
    else server.listen(from.path, () => resolve(server));
  });
}

/** Parses `listen=connect`, each side `tcp:PORT` or `unix:PATH`. */
export function parseRelay(arg: string): [Endpoint, Endpoint] {
  const side = (s: string): Endpoint => {
    if (s.startsWith('tcp:')) return { port: Number(s.slice('tcp:'.length)) };
    if (s.startsWith('unix:')) return { path: s.slice('unix:'.length) };
    throw new Error(`bad relay end "${s}": expected tcp:PORT or unix:PATH`);
  };
  const at = arg.indexOf('=');
  if (at < 0) throw new Error(`bad relay "${arg}": expected listen=connect`);
  return [side(arg.slice(0, at)), side(arg.slice(at + 1))];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const arg of process.argv.slice(2)) {
    const [from, to] = parseRelay(arg);
    await relay(from, to);
  }
  process.on('SIGTERM', () => process.exit(0));
  process.stdout.write('ready\n');
}
