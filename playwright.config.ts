import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './tests/helpers/chromium.js';
import { DATABASE_URL, IN_CI, SINKS, type Sink } from './tests/helpers/postgres.js';

// One project per storage sink; TestServer reads `metadata.sink`. PostgreSQL
// runs when DATABASE_URL is set (each test gets its own database) and must
// run in CI. SW_INGEST_TEST_SINK=sqlite|postgres runs one project only.
const only = process.env.SW_INGEST_TEST_SINK as Sink | undefined;
if (only !== undefined && !SINKS.includes(only)) throw new Error(`SW_INGEST_TEST_SINK="${only}": expected ${SINKS.join(' or ')}`);
if (IN_CI && DATABASE_URL === undefined) throw new Error('CI=true but DATABASE_URL is not set: the browser tests must also run against PostgreSQL');
if (only === 'postgres' && DATABASE_URL === undefined) {
  throw new Error('SW_INGEST_TEST_SINK=postgres needs DATABASE_URL');
}
const sinks: Sink[] = only !== undefined ? [only] : DATABASE_URL !== undefined ? ['sqlite', 'postgres'] : ['sqlite'];

// Browser tests run against the built files (npm test builds first).
export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  // Each test starts its own server and browser context; two at a time fits 2 cores.
  workers: process.env.CI ? 2 : 2,
  retries: 0,
  reporter: [['list']],
  use: {
    headless: true,
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
  },
  projects: sinks.map((sink) => ({ name: sink, metadata: { sink } })),
});
