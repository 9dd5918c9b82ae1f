/**
 * A small tmpfs of a test's own, to fill a disk for real: `mount -t tmpfs`
 * (root only), grown with `remount` to free space, unmounted in teardown.
 * Where mounting is not permitted, {@link mountTmpfs} says why instead.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A mounted tmpfs. */
export interface Tmpfs {
  /** The mount point. */
  dir: string;
  /** Changes its size (`mount -o remount,size=…`), e.g. to free space for a full disk. */
  resize(size: string): Promise<void>;
  /** Unmounts it and removes the mount point. */
  dispose(): Promise<void>;
}

/**
 * Mounts a tmpfs of `size` (as mount(8) takes it: `2m`, `64m`) on a new
 * temp directory.
 *
 * @returns the mount, or the reason it cannot be made here (not root, no `mount`, a container without CAP_SYS_ADMIN)
 */
export async function mountTmpfs(size: string): Promise<Tmpfs | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root' };
  const dir = mkdtempSync(join(tmpdir(), 'sw-ingest-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs is not permitted here: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}` };
  }
  return {
    dir,
    async resize(newSize) {
      await run('mount', ['-o', `remount,size=${newSize}`, dir]);
    },
    async dispose() {
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
