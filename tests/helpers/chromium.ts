/**
 * Debian's Chromium, launched the way these machines need: no downloads,
 * no background connections (the closed network refuses them), no sandbox
 * (tests run as root).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { chromium, type BrowserContext } from '@playwright/test';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
  '--disable-quic',
];

/** A browser with an on-disk profile, so IndexedDB and sync registrations survive a kill. */
export function launchPersistent(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/** PID of the main browser process using `profileDir` (the one without `--type=`). */
export function browserPid(profileDir: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // the process ended while we looked
    }
    if (cmdline.includes(`--user-data-dir=${profileDir}`) && !cmdline.some((a) => a.startsWith('--type='))) return Number(entry);
  }
  throw new Error(`no browser process found for profile ${profileDir}`);
}

/** SIGKILLs the browser of `profileDir`, as a crash or an OOM kill would, and waits until it is gone. */
export async function killBrowser(profileDir: string): Promise<void> {
  const pid = browserPid(profileDir);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`browser ${pid} did not die`);
}
