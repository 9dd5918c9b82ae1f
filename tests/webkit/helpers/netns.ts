/**
 * A network namespace of a test's own, where the browser sees the network
 * go away and come back for real: WebDriver has no offline mode, but
 * WebKitGTK fires `offline` and `online` (in page and worker) when the
 * namespace's default route is deleted and added again (allow ~6 s).
 * Loopback keeps working meanwhile, so a test pairs it with stopping the
 * server.
 *
 * How it is wired (root only: `unshare -n`):
 * - `unshare -n` makes the namespace; a shell in it brings `lo` up, adds
 *   a default route via `lo` and execs the relay program ({@link RELAY}),
 *   which holds the namespace. Xvfb, WebKitWebDriver and so the browser
 *   are started in it with `nsenter --net=/proc/<relay>/ns/net`.
 * - Loopback ports of the two namespaces are not each other's, but
 *   filesystem Unix sockets are shared: inside, the relay listens on
 *   127.0.0.1:<server port> and forwards to a Unix socket that this
 *   process forwards to the real server (so the page's origin stays
 *   http://127.0.0.1:<port>, a secure context); and it listens on a Unix
 *   socket forwarded to the driver's port inside, which this process
 *   exposes on a loopback port of its own.
 * - A stopped server shows through both relays as a refused connection
 *   (the inner connection is closed at once): a network error in the
 *   worker, as with no relay.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../../helpers/server.js';
import { relay } from './relay.js';

const run = promisify(execFile);

/** WebKitWebDriver's port inside a namespace. */
const DRIVER_PORT = 4444;

/** The relay program run inside the namespace; it holds it. */
export const RELAY = join(ROOT, 'tests/webkit/helpers/relay.ts');

/** A network namespace holding the browser; see the module comment. */
export class NetworkNamespace {
  /** The driver's port inside the namespace (every port is free there). */
  readonly driverPort = DRIVER_PORT;

  private constructor(
    private readonly holder: ChildProcess,
    private readonly dir: string,
    /** The Unix socket the relay inside forwards to the driver's port. */
    private readonly driverSock: string,
    /** Relays of this process, closed by {@link dispose}. */
    private readonly servers: Server[],
    /** The relay's stderr. */
    readonly log: { text: string },
  ) {}

  /** Prefix of a command that runs it inside the namespace. */
  get execPrefix(): string[] {
    return ['nsenter', `--net=/proc/${this.holder.pid}/ns/net`, '--'];
  }

  /**
   * Makes a namespace whose 127.0.0.1:`serverPort` reaches the test
   * server. Resolves with the reason instead where it cannot be made (not
   * root, no unshare/nsenter/ip, not permitted).
   */
  static async create(serverPort: number): Promise<NetworkNamespace | { skip: string }> {
    if (process.getuid?.() !== 0) return { skip: 'a network namespace (unshare -n) needs root' };
    const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-netns-'));
    const serverSock = join(dir, 'server.sock');
    const driverSock = join(dir, 'driver.sock');
    const log = { text: '' };
    const outside: Server[] = [];
    try {
      outside.push(await relay({ path: serverSock }, { port: serverPort }));
      const holder = spawn('unshare', [
        '-n', '--', 'sh', '-c', 'ip link set lo up && ip route add default dev lo && exec "$@"', 'sh',
        process.execPath, '--import', 'tsx', RELAY,
        `tcp:${serverPort}=unix:${serverSock}`, `unix:${driverSock}=tcp:${DRIVER_PORT}`,
      ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      holder.stderr!.on('data', (d: Buffer) => { log.text += d.toString(); });
      await new Promise<void>((resolve, reject) => {
        let out = '';
        holder.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) resolve();
        });
        holder.once('exit', (code) => reject(new Error(`exited with ${code}: ${log.text.trim()}`)));
      });
      return new NetworkNamespace(holder, dir, driverSock, outside, log);
    } catch (e) {
      for (const s of outside) s.close();
      rmSync(dir, { recursive: true, force: true });
      return { skip: `cannot make a network namespace here: ${(e as Error).message}` };
    }
  }

  /** Exposes the driver (inside) on a loopback port of this process; resolves with the port. */
  async exposeDriver(): Promise<number> {
    const server = await relay({ port: 0 }, { path: this.driverSock });
    this.servers.push(server);
    return (server.address() as { port: number }).port;
  }

  /** The namespace's routes (`ip route`), for reports. */
  async routes(): Promise<string> {
    return (await run(this.execPrefix[0]!, [...this.execPrefix.slice(1), 'ip', 'route'])).stdout.trim();
  }

  /** Deletes (`false`) or adds back (`true`) the default route: the browser goes offline or online. */
  async setOnline(online: boolean): Promise<void> {
    await run(this.execPrefix[0]!, [...this.execPrefix.slice(1), 'ip', 'route', online ? 'add' : 'del', 'default', 'dev', 'lo']);
  }

  /** Ends the relays and the namespace (once nothing else runs in it). */
  async dispose(): Promise<void> {
    for (const s of this.servers) s.close();
    if (this.holder.exitCode === null && this.holder.signalCode === null) {
      const exited = new Promise<void>((r) => this.holder.once('exit', () => r()));
      this.holder.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
