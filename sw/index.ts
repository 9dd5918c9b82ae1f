/**
 * `sw-ingest-sw.js`: the sw-ingest service worker as one classic script.
 * Register it directly (`open({ serviceWorker: '/sw-ingest-sw.js' })`), or
 * pull it into your own worker with `importScripts('/sw-ingest-sw.js')`.
 */
import { installSwIngest } from './install.js';

declare const self: ServiceWorkerGlobalScope;

installSwIngest();

// Registered as the worker itself (not imported into an app's worker, whose
// lifecycle is the app's business): take over at once. It handles no
// fetches, and an older version may have left records that the activation
// drain picks up.
if (/\/sw-ingest-sw\.js$/.test(self.location.pathname)) {
  self.addEventListener('install', () => void self.skipWaiting());
}
