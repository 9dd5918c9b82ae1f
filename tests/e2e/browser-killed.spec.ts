import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killBrowser, launchPersistent } from '../helpers/chromium.js';
import { test, expect, openClient, ingestReadings, pending, expectArrived, expectExactlyOnce } from './fixtures.js';

test('records pending when the browser is killed arrive after a relaunch, with no page open', async ({ server }) => {
  const profile = mkdtempSync(join(tmpdir(), 'sw-ingest-profile-'));
  try {
    const first = await launchPersistent(profile);
    const page = first.pages()[0] ?? (await first.newPage());
    await openClient(page, server.url);
    await first.setOffline(true);
    await ingestReadings(page, 500);
    expect(await pending(page)).toBe(500);

    await killBrowser(profile); // SIGKILL: no unload, no clean shutdown
    await first.close().catch(() => undefined);
    expect(await server.count('Reading')).toBe(0);

    const second = await launchPersistent(profile);
    try {
      // Nothing navigates to the app: the pending sync fires on its own.
      expect(second.pages().every((p) => !p.url().startsWith(server.url))).toBe(true);
      await expectArrived(server, 500, 60_000);
      expect(second.pages().every((p) => !p.url().startsWith(server.url))).toBe(true);
      await expectExactlyOnce(server, 500);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});
