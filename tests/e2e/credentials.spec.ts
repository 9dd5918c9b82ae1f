// The page and service worker side of credentials against the real server:
// API keys (and their revocation), a JWT from the app's own identity
// provider, and access tokens refreshed at send time.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { ADMIN_KEY, ROOT, TestServer } from '../helpers/server.js';
import { test, expect, ingestReadings, pending, openClient, expectExactlyOnce, FAST_RETRY, drainsIdle } from './fixtures.js';

/** Runs the CLI against the server's database, as an operator would. */
function cli(server: TestServer, ...args: string[]): string {
  return execFileSync(process.execPath, [join(ROOT, 'server/bin/sw-ingest.js'), ...args, '--db', server.db], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The owners of the stored records, from the admin export's metadata. */
async function owners(server: TestServer): Promise<string[]> {
  const res = await fetch(`${server.url}/api/admin/collections/Reading/export?meta=true`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  return [...new Set((await res.text()).trim().split('\n').map((l) => JSON.parse(l).meta.owner as string))];
}

async function openWith(page: import('@playwright/test').Page, url: string, credentials: string, extra: Record<string, unknown> = {}): Promise<void> {
  await page.goto(`${url}/`);
  await page.evaluate(async ({ credentials, extra }) => {
    const w = window as any;
    const [type, secret] = credentials.split(' ');
    const made = type === 'apiKey' ? w.SwIngest.Credentials.apiKey(secret) : w.SwIngest.Credentials.jwt(secret);
    w.client = await w.SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema, credentials: made, ...extra });
  }, { credentials, extra });
}

test('an API key logs in as its user; revoking it stops uploads with a visible error and keeps the records', async ({ page, server }) => {
  const key = cli(server, 'keys', 'create', '--name', 'kiosk').trim().split(/\s+/).pop()!;
  await openWith(page, server.url, `apiKey ${key}`, FAST_RETRY);
  await ingestReadings(page, 50);
  await page.evaluate(() => (window as any).client.flush());
  await expectExactlyOnce(server, 50);
  const [owner] = await owners(server);
  expect(owner).toMatch(/^api-key:/);

  const id = owner!.slice('api-key:'.length);
  cli(server, 'keys', 'revoke', id);
  await page.waitForTimeout(2_500); // the server rechecks revocations every 2 s: an access token stops within seconds
  await ingestReadings(page, 20, 50);
  const code = await page.evaluate(() => (window as any).client.flush({ timeoutMs: 5_000 }).then(() => 'ok', (e: any) => e.code));
  expect(code).toBe('auth-failed');
  await drainsIdle(page);
  expect(await pending(page)).toBe(20); // kept, not dead-lettered
  expect(await page.evaluate(() => (window as any).client.rejected())).toHaveLength(0);
  expect((await page.evaluate(() => (window as any).client.stats())).lastError.code).toBe('auth-failed');
  expect(await server.count('Reading')).toBe(50);
});

test('a JWT from the app\'s identity provider logs in as jwt:<iss>:<sub>; a forged one is refused at open()', async ({ page }) => {
  const secret = 'an-identity-provider-secret-of-at-least-32-bytes';
  const server = await new TestServer({ extraArgs: ['--jwt-secret', secret, '--jwt-issuer', 'https://idp.example', '--jwt-audience', 'sw-ingest-tests'] }).start();
  try {
    const sign = (key: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://idp.example')
      .setAudience('sw-ingest-tests').setSubject('alice').setExpirationTime('5m').sign(new TextEncoder().encode(key));
    const forged = await page.goto(`${server.url}/`).then(async () => page.evaluate(async (token) => {
      const w = window as any;
      return w.SwIngest.open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema: w.readingSchema, credentials: w.SwIngest.Credentials.jwt(token) })
        .then(() => 'opened', (e: any) => e.code);
    }, await sign('not-the-identity-providers-secret-at-all!!')));
    expect(forged).toBe('auth-failed');

    await openWith(page, server.url, `jwt ${await sign(secret)}`);
    await ingestReadings(page, 30);
    await page.evaluate(() => (window as any).client.flush());
    await expectExactlyOnce(server, 30);
    expect(await owners(server)).toEqual(['jwt:https://idp.example:alice']);
  } finally {
    await server.dispose();
  }
});

test('records queued long ago go out with a fresh access token: an expired or refused token is refreshed at send time', async ({ context, page, server }) => {
  await openClient(page, server.url);
  await context.setOffline(true);
  await ingestReadings(page, 40);
  // As if queued a week ago: the stored access token has expired, and its text is no longer accepted.
  await page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((res, rej) => { const r = indexedDB.open('sw-ingest'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    await new Promise<void>((res, rej) => {
      const tx = db.transaction('meta', 'readwrite');
      const store = tx.objectStore('meta');
      const get = store.get('session');
      get.onsuccess = () => store.put({ ...get.result, accessToken: 'expired.token.value', accessTokenExpiresAt: Date.now() - 7 * 86_400_000 }, 'session');
      tx.oncomplete = () => res();
      tx.onerror = () => rej(tx.error);
    });
    db.close();
  });
  await context.setOffline(false);
  await page.evaluate(() => (window as any).client.flush());
  await expectExactlyOnce(server, 40);
  const session = await page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((res) => { const r = indexedDB.open('sw-ingest'); r.onsuccess = () => res(r.result); });
    return new Promise<any>((res) => { const g = db.transaction('meta').objectStore('meta').get('session'); g.onsuccess = () => res(g.result); });
  });
  expect(session.accessToken).not.toBe('expired.token.value');
  expect(session.accessTokenExpiresAt).toBeGreaterThan(Date.now());
});
