/**
 * The demo page (built to demo/dist) against the real server with `--demo`:
 * a burst of 1,000 readings drains from the device and shows up in the
 * server panel, and each delivered batch says which wake-up sent it; the
 * cut-off switch and the server-down switch hold readings on the device
 * until they are switched back, then deliver each exactly once. Leaves a
 * full-page screenshot in test-results/demo.png.
 */
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { ROOT, TestServer } from '../helpers/server.js';

/** The server as `npm start` runs it: the built demo, its schema, `--demo`. */
function startDemoServer(): Promise<TestServer> {
  return new TestServer({ staticDir: join(ROOT, 'demo/dist'), schemaFile: join(ROOT, 'demo/schema.json'), extraArgs: ['--demo'] }).start();
}

/** What the batch list calls each `via` of the `uploaded` event. */
const VIA_LABELS = ['page message', 'Background Sync', 'worker start-up', 'worker activation', 'online', 'flush'];

/** The `seq` of every stored Reading, sorted: 0…n-1 once each when every reading arrived exactly once. */
async function storedSeqs(server: TestServer): Promise<number[]> {
  return (await server.exportDocs('Reading')).map((doc) => Number(String(doc.seq))).sort((a, b) => a - b);
}

test('demo: a burst of 1,000 drains from the device into the server panel', async ({ page }, testInfo) => {
  const server = await startDemoServer();
  try {
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${server.url}/`);

    // open() succeeded: the status says so and the buttons are enabled.
    await expect(page.getByTestId('status')).toContainText('Ready');
    await expect(page.getByTestId('burst')).toBeEnabled();
    await expect(page.getByTestId('pending')).toHaveText('0');
    await expect(page.getByTestId('stored-count')).toHaveText('0');

    await page.getByTestId('burst').click();

    // The server panel counts 1,000 stored, and the device holds nothing.
    await expect(page.getByTestId('stored-count')).toHaveText('1,000');
    await expect(page.getByTestId('pending')).toHaveText('0');
    expect(await server.count('Reading')).toBe(1000);
    // The server panel is fed by server-sent events, not polling.
    expect(await page.evaluate(() => document.body.dataset.serverFeed)).toBe('sse');

    // The table and chart show readings of the simulated sensor.
    await expect(page.getByTestId('recent-rows').locator('tr')).toHaveCount(10);
    await expect(page.getByTestId('recent-rows')).toContainText('sensor-1');
    await expect(page.getByTestId('chart').locator('path.line')).toHaveCount(1);
    await expect(page.getByTestId('status')).toContainText('1,000');
    await expect(page.getByTestId('last-error')).toBeHidden();
    expect(await page.getByTestId('rejected').textContent()).toBe('0');

    // Each delivered batch says which wake-up of the service worker sent it.
    const batches = page.getByTestId('batches').locator('li[data-via]');
    await expect(batches.first()).toBeVisible();
    expect(await batches.first().getAttribute('data-via')).not.toBe('unknown');
    expect(VIA_LABELS).toContain(await batches.first().locator('.via').textContent());
    await expect(page.getByTestId('batches')).toContainText('0 left');

    // Let the chart and progress bar settle, then keep a picture of the page.
    await page.waitForTimeout(1_200);
    const screenshot = testInfo.outputPath('demo.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.screenshot({ path: join(ROOT, 'test-results/demo.png'), fullPage: true });
    await testInfo.attach('demo', { path: screenshot, contentType: 'image/png' });

    expect(pageErrors).toEqual([]);
  } finally {
    await server.dispose();
  }
});

test('demo: the switch cuts the service worker off, and switching back drains exactly once', async ({ page }) => {
  const server = await startDemoServer();
  try {
    await page.goto(`${server.url}/`);
    await expect(page.getByTestId('cut')).toBeEnabled();
    await page.getByTestId('cut').click();
    await expect(page.getByTestId('cut')).toHaveAttribute('aria-pressed', 'true');
    await page.getByTestId('burst').click();
    await expect(page.getByTestId('pending')).toHaveText('1,000');
    await page.waitForTimeout(1_500);
    expect(await server.count('Reading')).toBe(0); // really cut off
    await page.getByTestId('cut').click();
    await expect(page.getByTestId('pending')).toHaveText('0');
    await expect(page.getByTestId('stored-count')).toHaveText('1,000');
    expect(await server.count('Reading')).toBe(1000);
    expect(await storedSeqs(server)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  } finally {
    await server.dispose();
  }
});

test('demo: the server-down switch keeps readings pending, and switching back delivers each exactly once', async ({ page }, testInfo) => {
  const server = await startDemoServer();
  try {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${server.url}/`);
    await expect(page.getByTestId('status')).toContainText('Ready');
    await expect(page.getByTestId('outage')).toBeEnabled();
    await page.getByTestId('outage').click();
    await expect(page.getByTestId('outage')).toHaveAttribute('aria-pressed', 'true');

    await page.getByTestId('burst').click();
    await expect(page.getByTestId('pending')).toHaveText('1,000');
    // The worker tried, and the server answered 503 database-unavailable (Retry-After: 2).
    await expect(page.getByTestId('last-error')).toContainText('database-unavailable');
    await page.waitForTimeout(2_500); // past the Retry-After: a retry was refused too
    expect(await server.count('Reading')).toBe(0);
    await expect(page.getByTestId('pending')).toHaveText('1,000');
    await expect(page.getByTestId('stored-count')).toHaveText('0');
    await page.screenshot({ path: testInfo.outputPath('demo-outage.png'), fullPage: true });

    await page.getByTestId('outage').click();
    await expect(page.getByTestId('outage')).toHaveAttribute('aria-pressed', 'false');
    await expect(page.getByTestId('pending')).toHaveText('0');
    await expect(page.getByTestId('stored-count')).toHaveText('1,000');
    expect(await storedSeqs(server)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(VIA_LABELS).toContain(await page.getByTestId('batches').locator('li[data-via] .via').first().textContent());
  } finally {
    await server.dispose();
  }
});
