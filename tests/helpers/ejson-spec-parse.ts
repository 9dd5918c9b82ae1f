/**
 * A spec-following reader of relaxed Extended JSON for the tests, and an
 * exact comparison of BSON values.
 *
 * bson's own `EJSON.parse(text, { relaxed: false })` does not follow the
 * spec for relaxed input on Node 20: it goes through `JSON.parse`, so `1.0`
 * arrives as the JS number 1 and comes back an Int32, and
 * 9007199254740993 is rounded to ...992 before bson sees it. Here the
 * numbers keep their text (lossless-json) and are typed by the spec's
 * parser rules (Extended JSON v2, "Parsing relaxed numbers"): a number with
 * `.`, `e` or `E` is a double; an integer is an int32 when it fits, else an
 * int64 when it fits, else a double. Each becomes its canonical wrapper and
 * bson reads the canonical form, which it does exactly.
 */
import { EJSON, type Document } from 'bson';
import { parse } from 'lossless-json';

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** The canonical wrapper of one relaxed number token, by the spec's parser rules. */
function canonicalNumber(token: string): Record<string, string> {
  if (/[.eE]/.test(token)) return { $numberDouble: token };
  const n = BigInt(token);
  if (n >= INT32_MIN && n <= INT32_MAX) return { $numberInt: token };
  if (n >= INT64_MIN && n <= INT64_MAX) return { $numberLong: token };
  return { $numberDouble: token };
}

/**
 * Reads one relaxed (or canonical) Extended JSON text to BSON values, as a
 * spec-following parser does.
 *
 * @example
 * ```ts
 * parseRelaxedEjson('{"d":1.0,"n":9007199254740993}'); // { d: Double(1), n: Long(9007199254740993) }
 * ```
 */
export function parseRelaxedEjson(text: string): Document {
  const canonical = parse(text, null, canonicalNumber) as Document;
  return EJSON.deserialize(canonical, { relaxed: false }) as Document;
}

/** The canonical Extended JSON of a BSON value: exact in type and value, for comparing and for messages. */
export function canonicalText(value: unknown): string {
  return EJSON.stringify(value, { relaxed: false });
}

/**
 * Whether two BSON values have the same types and values throughout (Int32
 * is not Long, -0.0 is not 0.0, NaN equals NaN, key order counts).
 */
export function sameBsonValue(a: unknown, b: unknown): boolean {
  return canonicalText(a) === canonicalText(b);
}
