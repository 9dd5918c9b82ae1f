/**
 * The build's table of targets, and the dev server (`npm run dev`).
 *
 * `scripts/build.js` builds each entry of {@link TARGETS} with Vite (library
 * mode) into dist/, the sw-ingest package; the demo into demo/dist/, which
 * ships in neither package. The server package (server/dist/) is plain
 * `tsc`, also run by scripts/build.js.
 *
 * `npm run dev` builds the service worker once, then serves the demo from
 * source with hot reload (page library and demo alike) and proxies `/api` to
 * a backend that is already running (`npm start`, or `sw-ingest serve
 * --demo`, at http://127.0.0.1:8080 unless `SW_INGEST_BACKEND` says
 * otherwise). The worker is served from dist/: after changing sw/, run
 * `node scripts/build.js --page` and reload.
 */
import { defineConfig, type UserConfig } from 'vite';

/** One file of the page package. */
export interface Target {
  /** Source entry, from the repository root. */
  entry: string;
  /** `es` for import, `iife` for a plain `<script>` or a classic service worker script (no top-level await, no imports). */
  format: 'es' | 'iife';
  /** Output file in dist/. */
  file: string;
  /** The global an IIFE assigns. */
  name?: string;
  /** Minify (the files people include directly). */
  minify?: boolean;
  /** Packages left as imports for the app's bundler; everything else is bundled in. */
  external?: string[];
}

/**
 * What `npm run build` makes of the page package. workbox is always bundled
 * in, with `process.env.NODE_ENV` replaced, so that an app bundling
 * `sw-ingest/sw` need not define it; bson and idb stay imports in the ESM
 * files, so an app that uses them too gets one copy.
 */
export const TARGETS: Target[] = [
  { entry: 'lib/index.ts', format: 'es', file: 'sw-ingest.js', external: ['bson', 'idb'] },
  { entry: 'lib/index.ts', format: 'iife', file: 'sw-ingest.iife.js', name: 'SwIngest', minify: true },
  { entry: 'sw/index.ts', format: 'iife', file: 'sw-ingest-sw.js', name: 'SwIngestServiceWorker', minify: true },
  { entry: 'sw/module.ts', format: 'es', file: 'sw-ingest-sw.mjs', external: ['bson', 'idb'] },
];

/** workbox reads `process.env.NODE_ENV` to strip its dev logging; pages and workers have no `process`. */
export const DEFINE = { 'process.env.NODE_ENV': JSON.stringify('production') };

/** The backend `npm run dev` proxies `/api` to. */
const BACKEND = process.env.SW_INGEST_BACKEND ?? 'http://127.0.0.1:8080';

/** The dev server: the demo from source, the built worker from dist/, the API proxied. */
export default defineConfig({
  root: 'demo',
  publicDir: '../dist',
  define: DEFINE,
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: false,
    proxy: { '/api': { target: BACKEND, changeOrigin: false } },
  },
} satisfies UserConfig);
