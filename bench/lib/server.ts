/**
 * The real sw-ingest server for the bench: the built CLI, run from a copy
 * of `server/dist` taken when the bench starts (others may rebuild `dist/`
 * while a long run goes on), on a random port, with its own new database
 * (a SQLite file, or a fresh PostgreSQL database through `DATABASE_URL`,
 * as the tests make them).
 */
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestServer } from '../../tests/helpers/server.js';
import { ROOT } from './site.js';

/** Inside the server package, so the copy resolves its packages as the build does (server/node_modules, then node_modules/). */
const SNAPSHOT = join(ROOT, 'server/.bench-snapshot');

/** Copies the built server (waiting up to a minute if `dist/` is being rebuilt). */
export async function snapshotServer(): Promise<void> {
  const cli = join(ROOT, 'server/dist/server/cli.js');
  for (let i = 0; !existsSync(cli); i++) {
    if (i === 60) throw new Error('server/dist is not built: npm run build');
    await new Promise((r) => setTimeout(r, 1_000));
  }
  rmSync(SNAPSHOT, { recursive: true, force: true });
  cpSync(join(ROOT, 'server/dist'), SNAPSHOT, { recursive: true });
}

/**
 * A real server for the bench: the tests' {@link TestServer} (one way to
 * start a server for tests and bench alike), run from the snapshot of the
 * build taken by {@link snapshotServer}, serving `site`.
 */
export class BenchServer extends TestServer {
  constructor(site: string, sink: 'sqlite' | 'postgres' = 'sqlite') {
    super({ staticDir: site, sink, cli: join(SNAPSHOT, 'server/cli.js') });
  }
}
