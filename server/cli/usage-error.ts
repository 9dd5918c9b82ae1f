/**
 * The one distinction the command line makes between failures: a usage
 * mistake (exit 2, printed with the verb's help) or anything else (exit 1,
 * the message alone). Every verb throws {@link UsageError} for the first;
 * `node:util`'s parseArgs throws its own, recognised by
 * {@link isParseArgsError}.
 */

/** A usage mistake: reported with exit code 2 and the verb's help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Whether `err` is `node:util` parseArgs' refusal of an unknown or
 * malformed option (a TypeError with an `ERR_PARSE_ARGS_*` code).
 *
 * @param err - anything thrown
 */
export function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
