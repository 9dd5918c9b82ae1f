/**
 * Whether `serve` can listen where it was told, found out before it opens
 * the database: a server that would only fail at `listen()` has by then
 * created the data directory, the database file and the secrets. The probe
 * listens on the address for a moment and lets go; another process may
 * still take the port in between, so a failure at `listen()` gets the same
 * message (see {@link describeListenError}).
 */
import net from 'node:net';

/**
 * Listens on `host:port` and closes again; port 0 is always free.
 *
 * @param port - the port `serve` will listen on
 * @param host - the address
 * @throws Error saying what to do, for a port in use, a privileged port, or an address not of this machine
 */
export async function probeListenAddress(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port, host, exclusive: true }, resolve);
    });
  } catch (err) {
    throw describeListenError(err, port, host);
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/**
 * `err` from listening on `host:port` as a message an operator can act
 * on, or `err` itself when it is none of the known causes.
 *
 * @param err - what `listen()` failed with
 * @param port - the port asked for
 * @param host - the address asked for
 * @example
 * ```ts
 * describeListenError(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }), 8080, '127.0.0.1').message
 * // 'port 8080 is in use on 127.0.0.1: stop the other server or pass --port <another> (0 picks a free one)'
 * ```
 */
export function describeListenError(err: unknown, port: number, host: string): Error {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return new Error(`port ${port} is in use on ${host}: stop the other server or pass --port <another> (0 picks a free one)`, { cause: err });
    case 'EACCES':
      return new Error(`port ${port} on ${host} needs privileges this process lacks: pass --port 1024 or above (0 picks a free one)`, { cause: err });
    case 'EADDRNOTAVAIL':
      return new Error(`--host ${host} is not an address of this machine: pass 127.0.0.1, 0.0.0.0 (every interface) or one of its addresses`, { cause: err });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new Error(`--host ${host}: no such host name; pass an address such as 127.0.0.1 or 0.0.0.0`, { cause: err });
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}
