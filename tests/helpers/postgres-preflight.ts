/**
 * `npm run test:postgres`: run once before the test suites, says whether the
 * PostgreSQL tests will run, and against what. Exits 1 when they must run
 * but cannot: `DATABASE_URL` set but unusable, or unset with `CI=true`.
 */
import { createTestDatabase, DATABASE_URL, IN_CI, POSTGRES_SKIP_REASON, withClient } from './postgres.js';

async function main(): Promise<number> {
  if (DATABASE_URL === undefined) {
    if (IN_CI) {
      process.stderr.write('PostgreSQL: CI=true but DATABASE_URL is not set; the PostgreSQL tests must run in CI.\n');
      return 1;
    }
    process.stdout.write(`\n*** ${POSTGRES_SKIP_REASON}. ***\n\n`);
    return 0;
  }
  const url = new URL(DATABASE_URL);
  const where = `${url.hostname}:${url.port || '5432'} as ${decodeURIComponent(url.username) || '(default user)'}`;
  try {
    const version = await withClient(DATABASE_URL, async (c) => (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version);
    const db = await createTestDatabase(); // proves the role may create the per-test databases
    await db.drop();
    process.stdout.write(`PostgreSQL tests run against ${where} (PostgreSQL ${version}), one fresh database per test server.\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`PostgreSQL at ${where} cannot be used for the tests: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main();
