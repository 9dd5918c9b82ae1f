/**
 * The demo page (built to demo/dist) against the real server with `--demo`:
 * a burst of 1,000 readings drains from the device and shows up in the
 * server panel. Leaves a full-page screenshot in test-results/demo.png.
 */
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { ROOT, TestServer } from '../helpers/server.js';

/** The server as `npm start` runs it: the built demo, its schema, `--demo`. */
function startDemoServer(): Promise<TestServer> {
  return new TestServer({ staticDir: join(ROOT, 'demo/dist'), schemaFile: join(ROOT, 'demo/schema.json'), extraArgs: ['--demo'] }).start();
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
  } finally {
    await server.dispose();
  }
});
