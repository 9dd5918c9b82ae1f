/**
 * Runs the `sw-ingest` command line from source (tsx), with the
 * SW_INGEST_* variables and DATABASE_URL of the developer's shell removed so
 * they cannot leak into a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'server/cli.ts');

/** Starts the CLI with `args` and extra `env`; stdout and stderr are pipes. */
export function startCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SW_INGEST_') && k !== 'DATABASE_URL'));
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...clean, ...env } });
}

/** Runs the CLI to its end: exit code and everything it printed. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = startCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const [code] = await once(child, 'close');
  return { code, stdout, stderr };
}
