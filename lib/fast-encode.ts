/**
 * The fast path of `ingest()`: for an asymmetric type whose properties are
 * all plain scalars (objectId `_id`, string, int, double, float, bool, date,
 * optional or not), an encoder that validates a document and writes its BSON
 * in one pass, without building the converted document and without `bson`'s
 * general serializer (whose browser build allocates a `TextEncoder` for every
 * key and string).
 *
 * It never decides that a document is bad: anything it does not recognise
 * (a missing or unknown field, a wrong type, a non-ASCII string that is not
 * well-formed, a BSON value class of another `bson` copy, …) makes it return
 * `undefined`, and the caller takes the general path (`convertDocument` and
 * `BSON.serialize`), which either encodes the document or throws the typed
 * error. So both paths accept exactly the same documents, and the bytes are
 * the same: `tests/unit/fast-encode.test.ts` compares them.
 */
import { Double, Long, ObjectId } from 'bson';
import { MAX_DOCUMENT_BYTES, writeInt64 } from '../core/protocol.js';
import type { ParsedType } from '../core/schema.js';

/** Encodes one document, or answers `undefined`: take the general path. */
export type FastEncoder = (doc: unknown) => Uint8Array | undefined;

const enum Kind { ObjectId, String, Int, Double, Bool, Date }
const KINDS: Record<string, Kind> = {
  objectId: Kind.ObjectId, string: Kind.String, int: Kind.Int, double: Kind.Double, float: Kind.Double, bool: Kind.Bool, date: Kind.Date,
};
/** BSON element type bytes, by {@link Kind}. */
const TYPE_BYTE: Record<Kind, number> = {
  [Kind.ObjectId]: 0x07, [Kind.String]: 0x02, [Kind.Int]: 0x12, [Kind.Double]: 0x01, [Kind.Bool]: 0x08, [Kind.Date]: 0x09,
};
/** Fixed value sizes; strings are sized per value. */
const VALUE_BYTES: Record<Kind, number> = {
  [Kind.ObjectId]: 12, [Kind.String]: 0, [Kind.Int]: 8, [Kind.Double]: 8, [Kind.Bool]: 1, [Kind.Date]: 8,
};
const BSON_NULL = 0x0a;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

interface Field {
  name: string;
  kind: Kind;
  optional: boolean;
  /** The element's key as a BSON cstring (name + NUL), after its type byte. */
  key: Uint8Array;
}

const utf8 = new TextEncoder();

// One scratch buffer, reused by every call; the result is a copy of its used part.
let scratch = new Uint8Array(4096);
let view = new DataView(scratch.buffer);
// bson writes doubles through a Float64Array; so do we, so NaN's bits are the same.
const float = new Float64Array(1);
const floatBytes = new Uint8Array(float.buffer);

function ensureScratch(bytes: number): void {
  if (bytes <= scratch.length) return;
  let size = scratch.length;
  while (size < bytes) size *= 2;
  scratch = new Uint8Array(size);
  view = new DataView(scratch.buffer);
}

let busy = false;

const isPlain = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * The fast encoder of `type`, or `undefined` when the type has a property
 * the fast path does not cover (lists, dictionaries, embedded objects,
 * mixed, decimal128, data, uuid) or a key other than an objectId.
 */
export function compileFastEncoder(type: ParsedType): FastEncoder | undefined {
  if (!type.asymmetric || type.properties.get('_id')?.type !== 'objectId') return undefined;
  const fields: Field[] = [];
  for (const [name, p] of type.properties) {
    const kind = KINDS[p.type];
    if (kind === undefined || p.isObject || p.collection !== 'none') return undefined;
    // Field names are checked by parseSchema: no NUL, so the key is a valid cstring.
    const nameBytes = utf8.encode(name);
    const key = new Uint8Array(nameBytes.length + 1);
    key.set(nameBytes);
    fields.push({ name, kind, optional: p.optional, key });
  }
  const names = new Set(fields.map((f) => f.name));
  const fixedBytes = 4 + 1 + fields.reduce((n, f) => n + 1 + f.key.length + VALUE_BYTES[f.kind], 0);
  const values: unknown[] = new Array(fields.length);

  const encode = (doc: unknown): Uint8Array | undefined => {
    if (!isPlain(doc)) return undefined;
    for (const k in doc) if (!names.has(k)) return undefined;
    // Read every value once and size the strings (UTF-8 is at most 3 bytes per UTF-16 unit).
    let worst = fixedBytes;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const v = doc[f.name];
      values[i] = v;
      if (f.kind === Kind.String && typeof v === 'string') worst += 5 + 3 * v.length;
    }
    ensureScratch(worst);
    const buf = scratch;
    let pos = 4;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const v = values[i];
      if (v === undefined || v === null) {
        if (f.kind === Kind.ObjectId) {
          // An absent key is generated, as convertDocument does.
          buf[pos++] = 0x07;
          buf.set(f.key, pos);
          pos += f.key.length;
          buf.set(ObjectId.generate(), pos);
          pos += 12;
          continue;
        }
        if (!f.optional) return undefined;
        if (v === null) {
          buf[pos++] = BSON_NULL;
          buf.set(f.key, pos);
          pos += f.key.length;
        }
        continue;
      }
      buf[pos++] = TYPE_BYTE[f.kind];
      buf.set(f.key, pos);
      pos += f.key.length;
      switch (f.kind) {
        case Kind.String: {
          if (typeof v !== 'string') return undefined;
          const start = pos;
          pos += 4;
          let j = 0;
          const n = v.length;
          for (; j < n; j++) {
            const c = v.charCodeAt(j);
            if (c >= 0x80) break;
            buf[pos++] = c;
          }
          if (j < n) {
            if (!v.isWellFormed()) return undefined;
            pos += utf8.encodeInto(j === 0 ? v : v.slice(j), buf.subarray(pos)).written;
          }
          buf[pos++] = 0;
          view.setInt32(start, pos - start - 4, true);
          break;
        }
        case Kind.Int: {
          if (typeof v === 'number') {
            if (!Number.isSafeInteger(v)) return undefined;
            writeInt64(view, pos, v);
          } else if (typeof v === 'bigint') {
            if (v < INT64_MIN || v > INT64_MAX) return undefined;
            view.setBigInt64(pos, v, true);
          } else if (v instanceof Long) {
            view.setInt32(pos, v.low, true);
            view.setInt32(pos + 4, v.high, true);
          } else {
            return undefined;
          }
          pos += 8;
          break;
        }
        case Kind.Double: {
          if (typeof v === 'number') float[0] = v;
          else if (v instanceof Double) float[0] = v.value;
          else return undefined;
          buf.set(floatBytes, pos);
          pos += 8;
          break;
        }
        case Kind.Bool:
          if (typeof v !== 'boolean') return undefined;
          buf[pos++] = v ? 1 : 0;
          break;
        case Kind.Date: {
          if (!(v instanceof Date)) return undefined;
          const ms = v.getTime();
          if (Number.isNaN(ms)) return undefined;
          writeInt64(view, pos, ms);
          pos += 8;
          break;
        }
        case Kind.ObjectId:
          if (!(v instanceof ObjectId)) return undefined;
          buf.set(v.id, pos);
          pos += 12;
          break;
      }
    }
    buf[pos++] = 0;
    if (pos > MAX_DOCUMENT_BYTES) return undefined;
    view.setInt32(0, pos, true);
    return buf.slice(0, pos);
  };
  // A getter of the document (or a Date subclass) could call ingest() again
  // while the scratch buffer is in use: that inner call takes the general path.
  return (doc: unknown): Uint8Array | undefined => {
    if (busy) return undefined;
    busy = true;
    try {
      return encode(doc);
    } finally {
      busy = false;
    }
  };
}
