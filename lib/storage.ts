/**
 * What the page can learn of the origin's storage (`navigator.storage`):
 * whether it is kept under pressure, and how full it is, for `stats()`; and
 * asking to keep it, for `open({ persist: true })`. Each is null where the
 * browser cannot say.
 */

/** `navigator.storage` where the browser has it (absent in insecure contexts, and in WebKitGTK unless turned on). */
export function storageManager(): Partial<StorageManager> | undefined {
  return (navigator as Partial<Navigator>).storage;
}

/** `navigator.storage.persisted()`, or null where it is missing or fails. */
export async function persistedNow(): Promise<boolean | null> {
  const storage = storageManager();
  if (typeof storage?.persisted !== 'function') return null;
  return storage.persisted().then((p) => p === true, () => null);
}

/** `navigator.storage.estimate()` as `{usage, quota}`, or null where it is missing, fails or leaves either out. */
export async function storageEstimate(): Promise<{ usage: number; quota: number } | null> {
  const storage = storageManager();
  if (typeof storage?.estimate !== 'function') return null;
  const estimate = await storage.estimate().catch(() => undefined);
  return typeof estimate?.usage === 'number' && typeof estimate.quota === 'number' ? { usage: estimate.usage, quota: estimate.quota } : null;
}
