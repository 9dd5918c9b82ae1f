/**
 * A highly available PostgreSQL 15 cluster of one test's own, as it runs in
 * production: three nodes under Patroni with etcd as the DCS, synchronous
 * replication on, and haproxy in front as the one address servers connect
 * to (node-postgres does not accept multi-host URLs). Everything listens on
 * 127.0.0.1, on free ports, with its data in one temp directory; the test
 * starts it and tears it down.
 *
 * What DESIGN.md ("PostgreSQL HA here") found on these machines, and this follows:
 * - Patroni's `primary_start_timeout` is 0, or a kill -9 of the primary's
 *   postmaster is repaired in place and no replica is promoted.
 * - `ttl >= loop_wait + 2 × retry_timeout`: ttl 10, loop_wait 2, retry_timeout 4.
 * - `synchronous_mode: true`; {@link PatroniCluster.waitForSync} waits for a
 *   standby with `pg_stat_replication.sync_state = 'sync'`.
 * - haproxy checks each node's Patroni REST `GET /primary` (200 only on the
 *   leader) and cuts the sessions of a node marked down.
 *
 * Patroni runs as the `postgres` OS user (PostgreSQL refuses root); it
 * starts each postmaster in a session of its own (`setsid`), so killing
 * Patroni leaves PostgreSQL running. Teardown therefore ends every process
 * whose working directory is inside the cluster's temp directory (Patroni,
 * each postmaster and its backends, whose cwd is their data directory,
 * etcd, haproxy) by its pid, with SIGKILL; the same sweep runs when the
 * test process exits, or is interrupted, without a teardown.
 *
 * Runs where `patroni`, `etcd`, `haproxy` (Debian's `patroni`,
 * `etcd-server`, `haproxy`; `.ci/run` installs them), PostgreSQL 15 and
 * root are; without them {@link patroniSkipReason} says why, and in CI that
 * is a failure.
 */
import { execFile, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PG_BIN } from './own-postgres.js';
import { IN_CI, withClient } from './postgres.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PATRONI = '/usr/bin/patroni';
const ETCD = '/usr/bin/etcd';
const HAPROXY = '/usr/sbin/haproxy';

/** Patroni's timing (DESIGN.md: ttl ≥ loop_wait + 2 × retry_timeout). */
export const PATRONI_TTL_S = 10;
export const PATRONI_LOOP_WAIT_S = 2;
export const PATRONI_RETRY_TIMEOUT_S = 4;
/** haproxy's health check interval, in ms; a node is down after 2 failed checks, up after 1. */
export const HAPROXY_CHECK_INTERVAL_MS = 500;

/**
 * Why a test that needs a Patroni cluster cannot run here, or `false`.
 *
 * @throws in CI, where these tests must run
 */
export function patroniSkipReason(): string | false {
  const missing = [PATRONI, ETCD, HAPROXY, join(PG_BIN, 'postgres'), join(PG_BIN, 'initdb')].filter((f) => !existsSync(f));
  let why: string | undefined;
  if (missing.length > 0) why = `missing ${missing.join(', ')} (apt-get install patroni etcd-server haproxy postgresql)`;
  else if (process.getuid?.() !== 0) why = 'running Patroni as the postgres user needs root';
  if (why === undefined) return false;
  if (IN_CI) throw new Error(`CI=true but this test cannot run a Patroni cluster: ${why}`);
  return `needs a Patroni cluster: ${why}`;
}

/** A free TCP port on 127.0.0.1 (free when asked; nothing holds it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** One PostgreSQL node and its Patroni. */
export interface PatroniNode {
  name: string;
  /** PostgreSQL's port (direct, not through haproxy). */
  pgPort: number;
  /** Patroni's REST API port. */
  restPort: number;
  dataDir: string;
  /** `postgres://postgres@127.0.0.1:<pgPort>/postgres`, straight to this node. */
  url: string;
}

/** A member as Patroni's `GET /cluster` lists it. */
export interface PatroniMember {
  name: string;
  /** `leader`, `sync_standby`, `replica` (Patroni 3.0). */
  role: string;
  /** `running`, `streaming`, `stopped`, `starting`, … */
  state: string;
  timeline?: number;
  lag?: number | string;
}

/** Every pid whose working directory is inside `dir`. */
function pidsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

/** Whether `pid` exists and is not a zombie (an orphan may wait for a reaper that never comes). */
function isRunning(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Clusters not yet disposed: swept if the test process exits without teardown. */
const live = new Set<string>();
const sweepLive = (): void => {
  for (const dir of live) {
    signalPids(pidsUnder(dir), 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
};
process.on('exit', sweepLive);
// A test run interrupted (Ctrl-C, a CI timeout) runs no teardown and no 'exit' handler: sweep, then die of the signal.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    sweepLive();
    process.kill(process.pid, signal);
  });
}

/** A running cluster of {@link startPatroniCluster}. */
export class PatroniCluster {
  /** haproxy's address, the one servers connect to: `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  private disposed = false;

  constructor(
    readonly dir: string,
    readonly nodes: readonly PatroniNode[],
    readonly haproxyPort: number,
    private readonly configFile: (node: PatroniNode) => string,
  ) {
    this.url = `postgres://postgres@127.0.0.1:${haproxyPort}/postgres`;
  }

  /** Starts (or starts again) the Patroni of `node`, as the postgres user. */
  startNode(node: PatroniNode): void {
    const out = openSync(join(this.dir, `${node.name}.patroni.log`), 'a');
    spawn('runuser', ['-u', 'postgres', '--', PATRONI, this.configFile(node)], {
      cwd: join(this.dir, node.name), stdio: ['ignore', out, out], detached: true,
    }).unref();
    closeSync(out);
  }

  /**
   * A node lost as a machine is: SIGKILL of its Patroni and of its
   * postmaster (which ends the backends), nothing shut down cleanly.
   */
  async killNode(node: PatroniNode): Promise<void> {
    const pids = pidsUnder(join(this.dir, node.name));
    signalPids(pids, 'SIGKILL');
    await this.waitGone(pids);
  }

  /** SIGKILL of `node`'s postmaster only (its Patroni lives on): the crash of the database. Returns the pid. */
  killPostmaster(node: PatroniNode): number {
    const pid = this.postmasterPid(node);
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  /** The pid in `node`'s `postmaster.pid`. */
  postmasterPid(node: PatroniNode): number {
    return Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /** The members as a live node's Patroni REST API lists them. */
  async members(): Promise<PatroniMember[]> {
    let last: unknown;
    for (const node of this.nodes) {
      try {
        const res = await fetch(`http://127.0.0.1:${node.restPort}/cluster`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return ((await res.json()) as { members: PatroniMember[] }).members;
        last = new Error(`GET /cluster on ${node.name}: ${res.status}`);
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`no Patroni answered GET /cluster: ${String(last)}`);
  }

  /** The node whose Patroni answers `GET /primary` with 200, if any. */
  async primary(): Promise<PatroniNode | undefined> {
    for (const node of this.nodes) {
      try {
        const res = await fetch(`http://127.0.0.1:${node.restPort}/primary`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return node;
      } catch {
        // that node is down
      }
    }
    return undefined;
  }

  /** The node by name. */
  node(name: string): PatroniNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  /**
   * Waits until a primary is reachable through haproxy and it has a
   * synchronous standby (`sync_state = 'sync'`) and `streaming` more
   * replicas in all; returns the primary and the sync standby's name.
   *
   * @param replicas - how many replicas must be streaming @default 2
   */
  async waitForSync(timeoutMs = 90_000, replicas = 2): Promise<{ primary: PatroniNode; syncStandby: string }> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const rows = await withClient(this.url, async (c) => (await c.query<{ application_name: string; state: string; sync_state: string }>(
          'SELECT application_name, state, sync_state FROM pg_stat_replication',
        )).rows);
        last = JSON.stringify(rows);
        const sync = rows.find((r) => r.sync_state === 'sync' && r.state === 'streaming');
        const primary = await this.primary();
        if (sync && primary && rows.filter((r) => r.state === 'streaming').length >= replicas) {
          return { primary, syncStandby: sync.application_name };
        }
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(300);
    }
    throw new Error(`no synchronous replication within ${timeoutMs} ms; pg_stat_replication: ${last}\n${this.log()}`);
  }

  /**
   * A planned switchover through Patroni's REST API (`POST /switchover`,
   * what `patronictl switchover --force` sends) to `candidate`. In
   * synchronous mode the candidate must be the synchronous standby.
   */
  async switchover(leader: string, candidate: string): Promise<void> {
    const node = this.node(leader);
    const res = await fetch(`http://127.0.0.1:${node.restPort}/switchover`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ leader, candidate }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`switchover ${leader} → ${candidate}: ${res.status} ${text}`);
  }

  /** Patroni's and haproxy's logs, their last lines, for failure messages. */
  log(lines = 40): string {
    return [...this.nodes.map((n) => `${n.name}.patroni.log`), 'haproxy.log', 'etcd.log'].map((f) => {
      const file = join(this.dir, f);
      const text = existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
      return `--- ${f}\n${text}`;
    }).join('\n');
  }

  private async waitGone(pids: readonly number[], timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const alive = pids.filter(isRunning);
      if (alive.length === 0) return true;
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
  }

  /**
   * Kills everything and removes the directory: SIGKILL to every process
   * inside it, swept until none is left (nothing of a test's cluster is
   * worth a clean shutdown; Patroni and its postmasters die together, so
   * none is restarted). Safe to call twice and after a failed start.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (let sweep = 0; sweep < 10; sweep++) {
      const left = pidsUnder(this.dir);
      if (left.length === 0) break;
      signalPids(left, 'SIGKILL');
      await this.waitGone(left);
    }
    live.delete(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Options of {@link startPatroniCluster}. */
export interface PatroniClusterOptions {
  /** PostgreSQL settings of every node (`postgresql.parameters`). */
  parameters?: Record<string, string | number>;
  /** Patroni's `synchronous_mode_strict`: no write without a synchronous standby. @default false */
  synchronousModeStrict?: boolean;
}

/**
 * Starts etcd, three Patroni nodes (node1 bootstraps, node2 and node3 clone
 * it) and haproxy, then waits for synchronous replication.
 *
 * @example
 * ```ts
 * const cluster = await startPatroniCluster();
 * const server = await new TestServer({ db: cluster.url }).start();
 * const { primary } = await cluster.waitForSync();
 * cluster.killPostmaster(primary);
 * await cluster.dispose();
 * ```
 */
export async function startPatroniCluster(options: PatroniClusterOptions = {}): Promise<PatroniCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-patroni-'));
  live.add(dir);
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout);
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
  chownSync(dir, uid, gid);

  const [etcdClient, etcdPeer, haproxyPort] = [await freePort(), await freePort(), await freePort()];
  const nodes: PatroniNode[] = [];
  for (const name of ['node1', 'node2', 'node3']) {
    const [pgPort, restPort] = [await freePort(), await freePort()];
    const home = join(dir, name);
    mkdirSync(home);
    chownSync(home, uid, gid);
    nodes.push({ name, pgPort, restPort, dataDir: join(home, 'data'), url: `postgres://postgres@127.0.0.1:${pgPort}/postgres` });
  }
  const configFile = (node: PatroniNode) => join(dir, node.name, 'patroni.yml');
  const cluster = new PatroniCluster(dir, nodes, haproxyPort, configFile);

  try {
    // etcd: one member, root is fine, its data in the temp directory.
    const etcdDir = join(dir, 'etcd');
    mkdirSync(etcdDir);
    const etcdLog = openSync(join(dir, 'etcd.log'), 'a');
    spawn(ETCD, [
      '--name', 'etcd', '--data-dir', join(etcdDir, 'data'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `etcd=http://127.0.0.1:${etcdPeer}`, '--initial-cluster-state', 'new',
      '--log-level', 'warn',
    ], { cwd: etcdDir, stdio: ['ignore', etcdLog, etcdLog], detached: true }).unref();
    closeSync(etcdLog);
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, 20_000, 'etcd to be healthy', cluster);

    const scope = `swi-${Date.now().toString(36)}`;
    for (const node of nodes) {
      // JSON is YAML: no YAML writer needed.
      writeFileSync(configFile(node), JSON.stringify({
        scope,
        name: node.name,
        log: { level: 'INFO' },
        restapi: { listen: `127.0.0.1:${node.restPort}`, connect_address: `127.0.0.1:${node.restPort}` },
        etcd3: { hosts: [`127.0.0.1:${etcdClient}`] },
        bootstrap: {
          dcs: {
            ttl: PATRONI_TTL_S,
            loop_wait: PATRONI_LOOP_WAIT_S,
            retry_timeout: PATRONI_RETRY_TIMEOUT_S,
            // A crashed primary is not restarted in place: a replica is promoted (DESIGN.md).
            primary_start_timeout: 0,
            maximum_lag_on_failover: 1048576,
            synchronous_mode: true,
            synchronous_mode_strict: options.synchronousModeStrict ?? false,
            postgresql: {
              use_pg_rewind: true,
              use_slots: true,
              parameters: { wal_level: 'replica', hot_standby: 'on', wal_log_hints: 'on', max_wal_senders: 10, max_replication_slots: 10 },
            },
          },
          initdb: [{ encoding: 'UTF8' }, { locale: 'C' }],
        },
        postgresql: {
          listen: `127.0.0.1:${node.pgPort}`,
          connect_address: `127.0.0.1:${node.pgPort}`,
          data_dir: node.dataDir,
          bin_dir: PG_BIN,
          pgpass: join(dir, node.name, 'pgpass'),
          authentication: {
            superuser: { username: 'postgres', password: 'postgres' },
            replication: { username: 'replicator', password: 'replicator' },
            rewind: { username: 'postgres', password: 'postgres' },
          },
          // Loopback only, so trust; the servers connect as postgres without a password.
          pg_hba: ['local all all trust', 'host replication replicator 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 trust'],
          parameters: { unix_socket_directories: join(dir, node.name), max_connections: 100, ...options.parameters },
          remove_data_directory_on_rewind_failure: true,
          remove_data_directory_on_diverged_timelines: true,
        },
        tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
      }, null, 2));
      chownSync(configFile(node), uid, gid);
    }
    cluster.startNode(nodes[0]!);
    await waitUntil(async () => (await cluster.primary()) === nodes[0], 60_000, 'node1 to bootstrap and lead', cluster);
    for (const node of nodes.slice(1)) cluster.startNode(node);

    writeFileSync(join(dir, 'haproxy.cfg'), [
      'global',
      '  maxconn 500',
      `  log stdout format raw local0 info`,
      'defaults',
      '  mode tcp',
      '  log global',
      '  option tcplog',
      '  retries 2',
      '  timeout connect 2s',
      '  timeout client 30m',
      '  timeout server 30m',
      '  timeout check 1s',
      'listen postgres_primary',
      `  bind 127.0.0.1:${haproxyPort}`,
      '  option httpchk GET /primary',
      '  http-check expect status 200',
      `  default-server inter ${HAPROXY_CHECK_INTERVAL_MS}ms fall 2 rise 1 on-marked-down shutdown-sessions`,
      ...nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.pgPort} check port ${n.restPort}`),
      '',
    ].join('\n'));
    const haproxyLog = openSync(join(dir, 'haproxy.log'), 'a');
    spawn(HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')], { cwd: dir, stdio: ['ignore', haproxyLog, haproxyLog], detached: true }).unref();
    closeSync(haproxyLog);

    await cluster.waitForSync();
    return cluster;
  } catch (err) {
    const log = cluster.log();
    await cluster.dispose();
    throw new Error(`the Patroni cluster did not start: ${(err as Error).message}\n${log}`, { cause: err });
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, cluster: PatroniCluster): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${String(last)})` : ''}\n${cluster.log()}`);
}
