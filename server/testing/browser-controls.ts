/**
 * What a test does to the browser around an app that uses sw-ingest
 * (Chromium): the network off and on, the Background Sync fired now instead
 * of when Chromium would retry it (5 and 15 minutes later), the service
 * worker killed, and a wait until the outbox is empty.
 *
 * The kit does not know the outbox's IndexedDB layout (the page package's
 * lib/outbox-db.ts owns it): it asks the service worker for the count with
 * a `pending` message, as the page library asks for a flush.
 */
import type { BrowserContext, CDPSession, Page } from '@playwright/test';
import { PENDING_MESSAGE_TYPE, SYNC_TAG } from './sw-contract.js';

/** How long {@link fireSync} waits for the origin's activated service worker. @default 10000 */
const DEFAULT_REGISTRATION_WAIT_MS = 10_000;
/** Default of {@link waitForEmptyOutbox}'s `timeoutMs`. */
const DEFAULT_EMPTY_WAIT_MS = 30_000;
/** How long the page waits for the service worker to answer one `pending` message. */
const PENDING_ANSWER_MS = 10_000;
const POLL_INTERVAL_MS = 100;

/** Takes the browser context offline (page and service worker fetches fail; Background Sync waits). */
export async function goOffline(context: BrowserContext): Promise<void> {
  await context.setOffline(true);
}

/** Brings the browser context back online; Chromium then fires pending Background Syncs by itself. */
export async function goOnline(context: BrowserContext): Promise<void> {
  await context.setOffline(false);
}

/** Options of {@link fireSync}. */
export interface FireSyncOptions {
  /** The app's origin. @default the origin of the page's URL */
  origin?: string;
  /** Fire it as the browser's last attempt (`SyncEvent.lastChance`). @default false */
  lastChance?: boolean;
  /** How long to wait for the origin's service worker to be active. @default 10000 */
  timeoutMs?: number;
}

/**
 * Fires sw-ingest's Background Sync now, as Chromium does when it retries a
 * failed sync (CDP `ServiceWorker.dispatchSyncEvent`); the service worker
 * starts if it is stopped, and uploads. Resolves once the event is
 * dispatched, not when the upload is done: wait with
 * `ingestServer.waitForCount` or {@link waitForEmptyOutbox}.
 *
 * `page` only carries the DevTools session: it may be a blank page of the
 * same context when `origin` is given (the app's tab may be closed).
 *
 * @param page - a Chromium page of the context whose service worker to wake
 * @param options - see {@link FireSyncOptions}
 * @example
 * ```ts
 * await page.close();
 * await fireSync(await context.newPage(), { origin: ingestServer.url });
 * ```
 */
export async function fireSync(page: Page, options: FireSyncOptions = {}): Promise<void> {
  const origin = options.origin === undefined ? originOf(page.url(), 'fireSync') : new URL(options.origin).origin;
  await withCdp(page, async (cdp) => {
    const registrationId = await activeRegistration(cdp, origin, options.timeoutMs ?? DEFAULT_REGISTRATION_WAIT_MS);
    await cdp.send('ServiceWorker.dispatchSyncEvent', { origin, registrationId, tag: SYNC_TAG, lastChance: options.lastChance ?? false });
  });
}

/**
 * Stops every service worker of the page's browser context at once (CDP
 * `ServiceWorker.stopAllWorkers`), as the browser does to an idle worker or
 * an OOM kill does mid-upload. The next event (a message, a sync, a page
 * load) starts it again.
 */
export async function stopServiceWorker(page: Page): Promise<void> {
  await withCdp(page, async (cdp) => {
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
  });
}

/**
 * Resolves when no record waits in the outbox of the page's origin (all
 * uploaded, or rejected and in the dead letters). It only waits: the upload
 * itself comes from a sync (the browser's, or {@link fireSync}), the app's
 * `flush()`, or the worker's start-up. Needs an open page of the app's
 * origin with sw-ingest's service worker registered.
 *
 * @param options.timeoutMs - @default 30000
 * @throws when records are still pending after `timeoutMs`
 */
export async function waitForEmptyOutbox(page: Page, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_EMPTY_WAIT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await pendingRecords(page);
    if (pending === 0) return;
    if (Date.now() >= deadline) throw new Error(`waitForEmptyOutbox: ${pending} records still pending after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

/** The outbox count, asked of the service worker that controls (or will control) `page`. */
async function pendingRecords(page: Page): Promise<number> {
  originOf(page.url(), 'waitForEmptyOutbox');
  const reply = await page.evaluate(pendingInPage, { type: PENDING_MESSAGE_TYPE, answerMs: PENDING_ANSWER_MS });
  if (!reply.ok) throw new Error(`waitForEmptyOutbox: ${reply.error.message}`);
  return reply.pending;
}

type PendingAnswer = { ok: true; pending: number } | { ok: false; error: { code?: string; message: string } };

/** Runs in the page (so: no imports, no closures). The server's tsconfig has no DOM types, hence the local ones. */
async function pendingInPage({ type, answerMs }: { type: string; answerMs: number }): Promise<PendingAnswer> {
  interface Port { onmessage: ((e: { data: unknown }) => void) | null }
  interface Worker { postMessage(message: unknown, transfer: unknown[]): void }
  interface Container { controller: Worker | null; ready: Promise<{ active: Worker | null }> }
  const g = globalThis as unknown as { navigator: { serviceWorker?: Container }; MessageChannel: new () => { port1: Port; port2: unknown } };
  const container = g.navigator.serviceWorker;
  if (container === undefined) return { ok: false, error: { message: `no navigator.serviceWorker on ${String((globalThis as { location?: unknown }).location)}` } };
  const late = (what: string): Promise<PendingAnswer> =>
    new Promise((resolve) => setTimeout(() => resolve({ ok: false, error: { message: `${what} within ${answerMs} ms` } }), answerMs));
  const worker = container.controller ?? (await Promise.race([container.ready.then((r) => r.active), late('no service worker became active')]));
  if (worker === null || 'ok' in worker) return worker ?? { ok: false, error: { message: 'no active service worker' } };
  const channel = new g.MessageChannel();
  const answered = new Promise<PendingAnswer>((resolve) => {
    channel.port1.onmessage = (e) => resolve(e.data as PendingAnswer);
  });
  worker.postMessage({ type }, [channel.port2]);
  return Promise.race([answered, late(`the service worker did not answer "${type}" (is it sw-ingest's, and as new as this kit?)`)]);
}

/** The id of `origin`'s service worker registration with an activated version, from DevTools' reports. */
async function activeRegistration(cdp: CDPSession, origin: string, timeoutMs: number): Promise<string> {
  const ofOrigin = new Map<string, string>(); // registrationId → scopeURL
  const activated = new Set<string>();
  let found: (id: string) => void = () => undefined;
  const result = new Promise<string>((resolve) => { found = resolve; });
  const check = (): void => {
    // The longest scope first: the registration closest to the page (an app may have more than one).
    const ids = [...ofOrigin].filter(([id]) => activated.has(id)).sort((a, b) => b[1].length - a[1].length);
    if (ids[0] !== undefined) found(ids[0][0]);
  };
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
    for (const r of registrations) {
      if (r.isDeleted || new URL(r.scopeURL).origin !== origin) ofOrigin.delete(r.registrationId);
      else ofOrigin.set(r.registrationId, r.scopeURL);
    }
    check();
  });
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const v of versions) if (v.status === 'activated') activated.add(v.registrationId);
    check();
  });
  await cdp.send('ServiceWorker.enable'); // reports every registration and version of the context
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fireSync: no active service worker for ${origin} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([result, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `f` with a DevTools session on `page`, detached afterwards. */
async function withCdp<T>(page: Page, f: (cdp: CDPSession) => Promise<T>): Promise<T> {
  const cdp = await page.context().newCDPSession(page);
  try {
    return await f(cdp);
  } finally {
    await cdp.detach().catch(() => undefined); // the page may have closed meanwhile
  }
}

/** The http(s) origin of `url`, or an error naming the function that needs one. */
function originOf(url: string, caller: string): string {
  const { protocol, origin } = new URL(url);
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new Error(`${caller}: the page is at ${url}, not on the app's origin${caller === 'fireSync' ? '; pass { origin }' : ''}`);
  }
  return origin;
}

/** The browser controls bound to one page and its context: the `ingest` fixture. */
export interface IngestControls {
  /** {@link goOffline} for the page's context. */
  goOffline(): Promise<void>;
  /** {@link goOnline} for the page's context. */
  goOnline(): Promise<void>;
  /** {@link fireSync}; after the page closed, through a blank page of its context, for the origin it was last on. */
  fireSync(options?: FireSyncOptions): Promise<void>;
  /** {@link stopServiceWorker}; after the page closed, through a blank page of its context. */
  stopServiceWorker(): Promise<void>;
  /** {@link waitForEmptyOutbox} on the page (which must still be open). */
  waitForEmptyOutbox(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * The browser controls bound to `page` (what the `ingest` fixture gives a
 * test). They keep working after `page.close()` where they can: the sync and
 * the worker belong to the context, not to the tab.
 *
 * @example
 * ```ts
 * const ingest = ingestControls(page);
 * await ingest.goOffline();
 * ```
 */
export function ingestControls(page: Page): IngestControls {
  const context = page.context();
  let lastOrigin: string | undefined;
  const remember = (url: string): void => {
    if (/^https?:/.test(url)) lastOrigin = new URL(url).origin;
  };
  remember(page.url());
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) remember(frame.url());
  });

  /** Runs `f` on the page, or, once it is closed, on a blank page of the context opened for it. */
  async function onSomePage<T>(f: (p: Page) => Promise<T>): Promise<T> {
    if (!page.isClosed()) return f(page);
    const blank = await context.newPage();
    try {
      return await f(blank);
    } finally {
      await blank.close();
    }
  }

  return {
    goOffline: () => goOffline(context),
    goOnline: () => goOnline(context),
    // lastOrigin follows the page's navigations, so it is the page's own origin while it shows the app.
    fireSync: (options = {}) => onSomePage((p) => fireSync(p, lastOrigin === undefined ? options : { origin: lastOrigin, ...options })),
    stopServiceWorker: () => onSomePage(stopServiceWorker),
    waitForEmptyOutbox: (options) => waitForEmptyOutbox(page, options),
  };
}
