/**
 * A fingerprint per asymmetric type: what page and server compare to catch
 * schema drift before records are lost to it. The server sends its
 * fingerprints with every session (login and refresh answers); the page
 * computes its own from the schema given to `open()` and reports the types
 * that differ as a `schema-mismatch` event.
 *
 * A fingerprint covers exactly what validation depends on: the type's
 * properties (name, type, list/dictionary, optional), and the embedded
 * types it reaches, in a canonical order (property order in the schema
 * does not matter). Shared by page and server, so both hash the same text.
 */
import type { ParsedSchema, ParsedType } from './schema.js';

/** Asymmetric type name → fingerprint (hex). */
export type SchemaFingerprints = Record<string, string>;

/** The canonical text of one type: its properties sorted by name, then the embedded types it reaches. */
function canonicalText(schema: ParsedSchema, type: ParsedType): string {
  const seen = new Set<string>();
  const parts: unknown[] = [];
  const visit = (t: ParsedType): void => {
    if (seen.has(t.name)) return;
    seen.add(t.name);
    const props = [...t.properties.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, p]) => [name, p.type, p.collection, p.optional]);
    parts.push([t.name, t.asymmetric, t.embedded, props]);
    for (const p of t.properties.values()) {
      const target = p.isObject ? schema.get(p.type) : undefined;
      if (target) visit(target);
    }
  };
  visit(type);
  return JSON.stringify(parts);
}

/**
 * The fingerprint of every asymmetric type of `schema`: the first 16 hex
 * digits of the SHA-256 of its canonical text (Web Crypto, in page, worker
 * and Node alike).
 *
 * @param schema - a schema checked by `parseSchema`
 * @example
 * ```ts
 * await schemaFingerprints(parseSchema(schema)); // { Reading: '3f9a0c…' }
 * ```
 */
export async function schemaFingerprints(schema: ParsedSchema): Promise<SchemaFingerprints> {
  const out: SchemaFingerprints = {};
  const encoder = new TextEncoder();
  for (const type of schema.values()) {
    if (!type.asymmetric) continue;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(canonicalText(schema, type))));
    out[type.name] = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return out;
}

/**
 * The page's asymmetric types whose fingerprint differs from the server's,
 * or that the server does not declare, sorted by name.
 *
 * @param page - the page's fingerprints
 * @param server - the fingerprints of a session answer
 */
export function mismatchedTypes(page: SchemaFingerprints, server: SchemaFingerprints): string[] {
  return Object.keys(page).filter((name) => server[name] !== page[name]).sort();
}
