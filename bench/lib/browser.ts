/**
 * Fresh Chromium instances for the bench: every measurement gets a new
 * on-disk profile (launchPersistentContext), so IndexedDB pays for real
 * disk writes and no run sees another's data. Plus a sampler of the
 * service worker's JS heap over CDP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, CDPSession, Page } from '@playwright/test';
import { launchPersistent } from '../../tests/helpers/chromium.js';

/** Runs `fn` with a page of a browser on a new profile, then closes it and deletes the profile. */
export async function withFreshBrowser<T>(fn: (page: Page, context: BrowserContext) => Promise<T>): Promise<T> {
  const profile = mkdtempSync(join(tmpdir(), 'sw-ingest-bench-profile-'));
  const context = await launchPersistent(profile);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => console.error(`  page error: ${e.message}`));
    return await fn(page, context);
  } finally {
    await context.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  }
}

/** JS heap of the page's service worker, sampled every `everyMs` while running. */
export interface HeapSampler {
  /** Forces a garbage collection in the worker and returns the used heap after it. */
  usedAfterGc(): Promise<number>;
  start(everyMs: number): void;
  /** Stops sampling; returns the samples (bytes used). */
  stop(): Promise<number[]>;
  detach(): Promise<void>;
}

/**
 * Attaches to the service worker of `page`'s origin through the page's CDP
 * session (Target.attachToTarget without flattening, messages relayed by
 * Target.sendMessageToTarget), so no second debugging connection is needed.
 */
export async function swHeapSampler(context: BrowserContext, page: Page, scriptSuffix = 'sw-ingest-sw.js'): Promise<HeapSampler> {
  const cdp: CDPSession = await context.newCDPSession(page);
  const { targetInfos } = await cdp.send('Target.getTargets');
  const sw = targetInfos.find((t) => t.type === 'service_worker' && t.url.endsWith(scriptSuffix));
  if (!sw) throw new Error(`no service worker target ending in ${scriptSuffix}`);
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: sw.targetId, flatten: false });
  let nextId = 0;
  const waiting = new Map<number, (result: any) => void>();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return;
    const msg = JSON.parse(e.message) as { id?: number; result?: unknown; error?: { message: string } };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.error ? Promise.reject(new Error(msg.error.message)) : msg.result);
  });
  const send = (method: string, params: object = {}): Promise<any> => new Promise((resolve) => {
    const id = ++nextId;
    waiting.set(id, (r) => { waiting.delete(id); resolve(r); });
    void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
  });
  const used = async (): Promise<number> => ((await send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
  let samples: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  return {
    async usedAfterGc() {
      await send('HeapProfiler.collectGarbage');
      return used();
    },
    start(everyMs) {
      samples = [];
      timer = setInterval(() => {
        inFlight = used().then((u) => samples.push(u), () => undefined);
      }, everyMs);
    },
    async stop() {
      clearInterval(timer);
      await inFlight;
      return samples;
    },
    async detach() {
      await cdp.send('Target.detachFromTarget', { sessionId }).catch(() => undefined);
      await cdp.detach().catch(() => undefined);
    },
  };
}
