/**
 * `sw-ingest/sw`: import it into a service worker built by your bundler to
 * add sw-ingest. It adds listeners only: no fetch handling, no
 * `skipWaiting()`; your worker's lifecycle stays yours.
 *
 * @example
 * ```ts
 * // sw.ts
 * import 'sw-ingest/sw';
 * ```
 */
import { installSwIngest } from './install.js';

installSwIngest();

export { installSwIngest };
