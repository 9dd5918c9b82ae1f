/**
 * Playwright fixtures: `test` is the project's own `@playwright/test` `test`
 * (a peer dependency: the app's installation, so one copy of Playwright
 * runs), extended with an `ingestServer` per test and the `ingest` browser
 * controls of the test's page.
 */
import { test as base, expect } from '@playwright/test';
import { ingestControls, type IngestControls } from './browser-controls.js';
import { startIngestServer, type IngestTestServer, type IngestTestServerOptions } from './ingest-server.js';

/** The option fixture: `test.use({ ingestServerOptions: { schema, static } })`. */
export interface IngestOptionFixtures {
  /** How the `ingestServer` fixture starts its server; required when a test uses it. */
  ingestServerOptions: IngestTestServerOptions | undefined;
}

/** The fixtures a test receives. */
export interface IngestFixtures {
  /** A fresh server and database for this test (stopped and removed after it). */
  ingestServer: IngestTestServer;
  /** The browser controls, bound to this test's `page` and `context`. */
  ingest: IngestControls;
}

/**
 * Playwright's `test` with the {@link IngestFixtures}.
 *
 * @example
 * ```ts
 * import { test, expect } from 'sw-ingest-server/testing';
 * test.use({ ingestServerOptions: { schema: 'schema.json', static: 'site' } });
 * test('notes arrive', async ({ page, ingestServer, ingest }) => { … });
 * ```
 */
export const test = base.extend<IngestFixtures & IngestOptionFixtures>({
  ingestServerOptions: [undefined, { option: true }],
  ingestServer: async ({ ingestServerOptions }, use) => {
    if (ingestServerOptions === undefined) {
      throw new Error('the ingestServer fixture needs its options: test.use({ ingestServerOptions: { schema: … } })');
    }
    const server = await startIngestServer(ingestServerOptions);
    try {
      await use(server);
    } finally {
      await server.stop();
    }
  },
  ingest: async ({ page }, use) => {
    await use(ingestControls(page));
  },
});

export { expect };
