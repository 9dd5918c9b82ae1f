/**
 * Bad options to open() reject with `invalid-option`, naming the option,
 * before anything is written: no IndexedDB database, no service worker
 * registration. A bad schema is still `invalid-schema`.
 */
import { test, expect } from './fixtures.js';

const cases: Array<[string, Record<string, unknown>, RegExp]> = [
  ['no endpoint', { endpoint: '' }, /"endpoint"/],
  ['an endpoint that is not a string', { endpoint: 42 }, /"endpoint"/],
  ['no service worker', { serviceWorker: undefined }, /"serviceWorker"/],
  ['batchMaxRecords 0', { batchMaxRecords: 0 }, /"batchMaxRecords" must be a positive whole number, got 0/],
  ['batchMaxBytes as a string', { batchMaxBytes: '1000' }, /"batchMaxBytes" must be a positive whole number, got "1000"/],
  ['maxPendingRecords negative', { maxPendingRecords: -1 }, /"maxPendingRecords"/],
  ['maxPendingBytes NaN', { maxPendingBytes: NaN }, /"maxPendingBytes"/],
  ['a retry value of 0', { retry: { baseMs: 0 } }, /"retry\.baseMs"/],
  ['an unknown retry key', { retry: { baseMS: 100 } }, /"retry\.baseMS" is not an option/],
  ['durability "fast"', { durability: 'fast' }, /"durability" must be "strict" or "relaxed"/],
  ['forceSyncFallback "yes"', { forceSyncFallback: 'yes' }, /"forceSyncFallback" must be true or false/],
  ['credentials not from Credentials', { credentials: { type: 'password', password: 'x' } }, /"credentials"/],
];

test(`${cases.length} bad options reject with invalid-option naming each; 0 databases and 0 workers written`, async ({ page, server }) => {
  await page.goto(`${server.url}/`);
  const outcomes = await page.evaluate(async (all) => {
    const w = window as any;
    const out: Array<{ what: string; code?: string; message?: string }> = [];
    for (const [what, bad] of all) {
      const options: Record<string, unknown> = { endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema, ...bad };
      if ('serviceWorker' in bad && bad.serviceWorker === undefined) delete options.serviceWorker;
      try {
        await w.SwIngest.open(options);
        out.push({ what });
      } catch (e: any) {
        out.push({ what, code: e.code, message: e.message });
      }
    }
    return out;
  }, cases.map(([what, bad]) => [what, bad] as const));
  for (const [i, [what, , message]] of cases.entries()) {
    expect(outcomes[i]!.code, what).toBe('invalid-option');
    expect(outcomes[i]!.message, what).toMatch(message);
  }
  const written = await page.evaluate(async () => ({
    databases: (await indexedDB.databases()).map((d) => d.name),
    workers: (await navigator.serviceWorker.getRegistrations()).length,
  }));
  expect(written).toEqual({ databases: [], workers: 0 });

  // A bad schema is still the schema's error.
  const schemaError = await page.evaluate(() => (window as any).SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: [] })
    .catch((e: { code: string }) => e.code));
  expect(schemaError).toBe('invalid-schema');
});
