/**
 * `sw-ingest serve`: the options (serve-options.ts) become
 * `createIngestServer`'s, and the server listens until SIGTERM or SIGINT.
 *
 * In this order, so that a mistake costs nothing:
 * 1. the arguments and variables are read and checked (exit 2);
 * 2. the listen address is probed: a port in use fails here, before any
 *    file or table is created (exit 1);
 * 3. `createIngestServer` reads the schema, opens the database, creates
 *    the secrets;
 * 4. it listens (a port taken since step 2 gets step 2's message).
 */
import { parseArgs } from 'node:util';
import { adminKeyLocation, createIngestServer, type IngestServerOptions } from '../create-server.js';
import { helpText } from './help.js';
import { checkJwtLoginGiven, completeCustomJwt } from './jwt-login-options.js';
import { describeListenError, probeListenAddress } from './listen-address.js';
import { findOptions, parseArgsOptions, parseFoundOptions, type ParsedValues } from './options.js';
import { SERVE_OPTIONS, type ServeSettings } from './serve-options.js';

/**
 * Runs `sw-ingest serve` with `args` (after the verb).
 *
 * @param args - the options
 * @returns the exit code once the server has closed after a signal: 0
 * @throws UsageError for a bad option; Error for a port in use, a bad schema file or an unusable database
 */
export async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: parseArgsOptions(SERVE_OPTIONS) });
  if (values.help) {
    process.stdout.write(helpText('serve'));
    return 0;
  }
  const found = findOptions(SERVE_OPTIONS, values as ParsedValues);
  checkJwtLoginGiven((field) => found.some((f) => f.option.sets === field));
  const { listen, server } = await parseFoundOptions(found) as unknown as ServeSettings;
  const customJwt = completeCustomJwt(server.customJwt);
  const options: IngestServerOptions = { ...server, customJwt };
  if (customJwt === undefined) delete options.customJwt;

  await probeListenAddress(listen.port, listen.host);
  // The one composition root: the CLI only turns arguments into its options.
  const app = await createIngestServer(options);
  try {
    await app.listen(listen);
  } catch (err) {
    await app.close().catch(() => {}); // closes the database too
    throw describeListenError(err, listen.port, listen.host);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  const keyLocation = adminKeyLocation(app);
  if (keyLocation === 'database') {
    process.stderr.write(`sw-ingest: admin key is in the database: SELECT value FROM sw_ingest.secrets WHERE name = 'admin-key'\n`);
  } else if (keyLocation !== undefined) {
    process.stderr.write(`sw-ingest: admin key is in ${keyLocation}\n`);
  }
  if (options.demo) process.stderr.write('sw-ingest: --demo: GET /api/demo/summary shows stored data without credentials\n');
  process.stdout.write(`sw-ingest listening on http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}\n`);

  await new Promise<void>((resolve) => {
    // Unsubscribed at the first signal, so that a second Ctrl-C kills a shutdown that hangs.
    const onSignal = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await app.close(); // stops accepting, waits for in-flight requests, then closes the database
  return 0;
}
