/**
 * JWT login's four options (`--jwt-secret` or `--jwks`, `--jwt-issuer`,
 * `--jwt-audience`) only work together: which were given is checked before
 * any is parsed (so that `--jwks` is not read for nothing), and the parsed
 * four become one `customJwt` option, checked as the server will use it.
 */
import { createCustomJwtVerifier, type CustomJwtConfig } from '../custom-jwt.js';
import type { ServePath } from './serve-options.js';
import { UsageError } from './usage-error.js';

/**
 * Refuses a combination of JWT login options that cannot work.
 *
 * @param given - whether the row that sets this field was given (flag or variable)
 * @throws UsageError naming what is missing or too much
 */
export function checkJwtLoginGiven(given: (field: ServePath) => boolean): void {
  const secret = given('server.customJwt.secret');
  const jwks = given('server.customJwt.jwks');
  const issuer = given('server.customJwt.issuer');
  const audience = given('server.customJwt.audience');
  if (!secret && !jwks) {
    if (issuer || audience) throw new UsageError('--jwt-issuer and --jwt-audience need --jwt-secret or --jwks');
    return;
  }
  if (secret && jwks) throw new UsageError('give --jwt-secret or --jwks, not both');
  if (!issuer || !audience) throw new UsageError('JWT login needs --jwt-issuer and --jwt-audience');
}

/**
 * The `customJwt` option from its parsed fields, checked by the verifier
 * the server will build (secret length, key types, issuer).
 *
 * @param fields - the fields the rows set, after {@link checkJwtLoginGiven}
 * @returns undefined when JWT login is off
 * @throws UsageError with the verifier's message
 */
export function completeCustomJwt(fields: Partial<CustomJwtConfig> | undefined): CustomJwtConfig | undefined {
  if (fields?.secret === undefined && fields?.jwks === undefined) return undefined;
  const { secret, jwks, issuer, audience } = fields;
  const config: CustomJwtConfig = secret !== undefined
    ? { secret, issuer: issuer!, audience: audience! }
    : { jwks: jwks!, issuer: issuer!, audience: audience! };
  try {
    createCustomJwtVerifier(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return config;
}
