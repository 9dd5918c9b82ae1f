/**
 * `sw-ingest-server/testing`: test an app's own use of sw-ingest with
 * Playwright (Chromium). This file is the table of contents of the kit.
 * Needs `@playwright/test` (a peer dependency) in the app's project.
 */
export { startIngestServer } from './testing/ingest-server.js';
export type { IngestTestServer, IngestTestServerOptions } from './testing/ingest-server.js';
export { fireSync, goOffline, goOnline, ingestControls, stopServiceWorker, waitForEmptyOutbox } from './testing/browser-controls.js';
export type { FireSyncOptions, IngestControls } from './testing/browser-controls.js';
export { expect, test } from './testing/fixtures.js';
export type { IngestFixtures, IngestOptionFixtures } from './testing/fixtures.js';
export { SYNC_TAG } from './testing/sw-contract.js';
