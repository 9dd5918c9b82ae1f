/**
 * Where a JSON text is broken, as a person looks for it: line and column.
 * Node 20's `JSON.parse` often says only `Unexpected token '}', "…" is not
 * valid JSON`, without a position; lossless-json (already the export's
 * dependency) always gives one, so the text is parsed again with it once
 * `JSON.parse` has failed — never on the way that succeeds.
 */
import { parse as parseLosslessly } from 'lossless-json';

/**
 * Describes why `text` is not JSON.
 *
 * @param text - what `JSON.parse` refused
 * @param error - `JSON.parse`'s error, the fallback when no position is found
 * @returns e.g. `JSON syntax error at line 3, column 10: Object value expected after ':'`
 * @example
 * ```ts
 * try { JSON.parse(text); } catch (err) { throw new Error(`schema file ${file}: ${describeJsonSyntaxError(text, err as Error)}`); }
 * ```
 */
export function describeJsonSyntaxError(text: string, error: Error): string {
  let detail = error.message;
  let position = /at position (\d+)/.exec(error.message)?.[1];
  try {
    // JSON.parse lets the last of duplicate keys win; so must this, or it would stop at the duplicate.
    parseLosslessly(text, undefined, { onDuplicateKey: ({ newValue }) => newValue });
  } catch (err) {
    const match = /^(.*) at position (\d+)$/s.exec((err as Error).message);
    if (match) [, detail, position] = match as unknown as [string, string, string];
  }
  if (position === undefined) return `JSON syntax error: ${detail}`;
  if (position === '0' && text.startsWith('\uFEFF')) detail = 'the file starts with a byte order mark (U+FEFF); save it as UTF-8 without one';
  const { line, column } = lineAndColumn(text, Number(position));
  return `JSON syntax error at line ${line}, column ${column}: ${detail}`;
}

/** 1-based line and column (in UTF-16 code units, as editors count them) of `offset` in `text`. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}
