/**
 * The README's examples as data, so that a test runs them as written.
 *
 * An example is a fenced code block right after a marker line,
 * `<!-- example: <name> -->` (an HTML comment: invisible on GitHub). Blocks
 * inside list items are indented; the fence's indentation is taken off
 * every line. This module only reads: what a test does with a block (write
 * it to a file, run its lines) is the test's, and so is every substitution.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One marked block of the README. */
export interface ReadmeExample {
  /** The marker's name, e.g. `quick-start-schema`. */
  name: string;
  /** The fence's info string, e.g. `sh`, `json`, `ts`; `''` when there is none. */
  lang: string;
  /** The block's text, unindented, ending with a newline. */
  code: string;
  /** 1-based line of the marker in the README, for messages. */
  line: number;
}

/** The repository's README.md. */
export const README_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md');

const MARKER = /^\s*<!-- example: ([a-z0-9-]+) -->\s*$/;
const FENCE_OPEN = /^( *)(`{3,}|~{3,})([^`\s]*)\s*$/;

/**
 * Every marked block of `markdown`, by name. Throws when a marker is not
 * followed by a fenced block, a block is not closed, or a name repeats.
 *
 * @example
 * ```ts
 * const schema = JSON.parse(readmeExamples(text).get('quick-start-schema')!.code);
 * ```
 */
export function readmeExamples(markdown: string): Map<string, ReadmeExample> {
  const lines = markdown.split('\n');
  const examples = new Map<string, ReadmeExample>();
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]!);
    if (!marker) continue;
    const name = marker[1]!;
    if (examples.has(name)) throw new Error(`README line ${i + 1}: example "${name}" is marked twice`);
    const open = FENCE_OPEN.exec(lines[i + 1] ?? '');
    if (!open) throw new Error(`README line ${i + 1}: the marker of "${name}" is not followed by a fenced code block`);
    const [, indent, fence, lang] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 2;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim() === fence) break;
      // Markdown strips up to the fence's indentation from each line of the block.
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    if (j === lines.length) throw new Error(`README line ${i + 1}: the block of "${name}" is not closed`);
    examples.set(name, { name, lang, code: body.join('\n') + '\n', line: i + 1 });
    i = j;
  }
  return examples;
}

/** {@link readmeExamples} of the repository's README.md, read now. */
export function readReadmeExamples(file = README_PATH): Map<string, ReadmeExample> {
  return readmeExamples(readFileSync(file, 'utf8'));
}

/**
 * The commands of a shell block, one per entry: continuation lines
 * (`\` at the end) joined, blank and comment-only lines left out; a
 * command's trailing comment stays (the shell ignores it).
 *
 * @example
 * ```ts
 * commandLines('npm install a   # the page\n\nnpx b \\\n  --c\n'); // ['npm install a   # the page', 'npx b --c']
 * ```
 */
export function commandLines(code: string): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const raw of code.split('\n')) {
    const line = pending === '' ? raw.trim() : `${pending} ${raw.trim()}`;
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1).trimEnd();
      continue;
    }
    pending = '';
    if (line === '' || line.startsWith('#')) continue;
    commands.push(line);
  }
  if (pending !== '') commands.push(pending);
  return commands;
}

/** The README's server examples (Server section), run by tests/unit/readme-server-examples-run-as-written.test.ts. */
export const SERVER_EXAMPLES = ['server-ingest-plugin', 'server-create-ingest-server', 'server-ingest-handler-node', 'server-ingest-handler-express'] as const;
