/**
 * Fixtures of the fault-matrix specs (`fault-*.spec.ts`): the real server
 * with a {@link FaultProxy} in front of it, the page loaded through the
 * proxy, and the closing count every row ends with.
 */
import { writeFileSync } from 'node:fs';
import type { Page, TestInfo } from '@playwright/test';
import { FaultProxy } from '../helpers/proxy.js';
import type { TestServer } from '../helpers/server.js';
import { test as base, expect, expectArrived, expectExactlyOnce, openClient, pending } from './fixtures.js';

export { expect };

export const test = base.extend<{ faults: FaultProxy }>({
  faults: async ({ server }, use, testInfo: TestInfo) => {
    const proxy = await new FaultProxy(() => server.port).start();
    await use(proxy);
    // The upload log is kept next to the test's other output (test-results/…), and attached when the test failed.
    const path = testInfo.outputPath('proxy-upload-log.json');
    writeFileSync(path, JSON.stringify(proxy.uploadLog, null, 2));
    if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach('proxy-upload-log.json', { path, contentType: 'application/json' });
    await proxy.close();
  },
});

/**
 * Quick backoff, and a sync budget long enough that one drain outlives every
 * fault a test injects (the browser's own re-schedule takes 5 minutes).
 */
export const FAULT_RETRY = { baseMs: 100, maxMs: 500, syncBudgetMs: 60_000, requestTimeoutMs: 5_000 };

/** Opens a client through the proxy and records the codes of the SW's `error` events in `window.uploadErrors`. */
export async function openThroughProxy(page: Page, proxy: FaultProxy, options: Record<string, unknown> = {}): Promise<void> {
  await openClient(page, proxy.url, { batchMaxRecords: 500, ...options, retry: { ...FAULT_RETRY, ...(options.retry as object | undefined) } });
  await page.evaluate(() => {
    const w = window as any;
    w.uploadErrors = [];
    w.client.on('error', ({ error }: { error: { code: string } }) => w.uploadErrors.push(error.code));
  });
}

/** Codes of the upload failures the page was told about, in order. */
export function uploadErrors(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as any).uploadErrors as string[]);
}

/** Records in the dead-letter store. */
export function rejectedCount(page: Page): Promise<number> {
  return page.evaluate(async () => ((await (window as any).client.rejected()) as unknown[]).length);
}

/** The closing count: every reading `0 … expected-1` stored once, the outbox empty, nothing dead-lettered. */
export async function expectDeliveredOnce(page: Page, server: TestServer, expected: number): Promise<void> {
  await expectArrived(server, expected);
  await expect.poll(() => pending(page)).toBe(0);
  expect(await rejectedCount(page)).toBe(0);
  await expectExactlyOnce(server, expected);
}

/** A promise and the function that settles it: a gate for `holdRequest`. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => { open = r; });
  return { opened, open };
}
