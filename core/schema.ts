/**
 * Longer than most modules (~450 lines) on purpose: the one validator for
 * page and server, every rule next to the others it interacts with.
 *
 * Asymmetric object schemas in Realm's property notation, and the one
 * validator that page and server share. The page converts friendly JS values
 * (numbers, bigint, Uint8Array) into exact BSON types; the server, reading
 * BSON off the wire, accepts only those exact types (`mode: 'wire'`).
 */
import { Binary, Double, Long, ObjectId, UUID, type Document } from 'bson';
import { IngestError, type IngestErrorCode } from './errors.js';

/** The primitive property types of Realm's notation. */
export const PRIMITIVE_TYPES = [
  'objectId', 'uuid', 'string', 'int', 'double', 'float', 'bool', 'date', 'decimal128', 'data', 'mixed',
] as const;
export type PrimitiveType = (typeof PRIMITIVE_TYPES)[number];

/** The types an asymmetric object's `_id` may have. */
export const PRIMARY_KEY_TYPES = ['objectId', 'uuid', 'string', 'int'] as const;

/**
 * A property in Realm's notation: a string such as `'int'`, `'string?'`,
 * `'double[]'`, `'double{}'`, `'Point'`, or the object form.
 */
export type PropertySchema =
  | string
  | {
      /** A primitive type, an embedded type's name, `'list'`, `'dictionary'` or `'object'`. */
      type: string;
      /** For `list`, `dictionary` and `object`: the element type. */
      objectType?: string;
      /** Whether the value (or each element) may be null or absent. @default false */
      optional?: boolean;
    };

/** One object type, as in Realm's `ObjectSchema`. */
export interface ObjectSchema {
  /** The type's name; asymmetric types are stored in the collection of this name. */
  name: string;
  /** Marks a type that can be ingested (write-only on the device). */
  asymmetric?: boolean;
  /** Marks a type that exists only inside other objects. */
  embedded?: boolean;
  /** For asymmetric types: must be `'_id'`. */
  primaryKey?: string;
  /** Property name to {@link PropertySchema}. */
  properties: Record<string, PropertySchema>;
}

/** A property after parsing. */
export interface ParsedProperty {
  /** A primitive type or the name of an embedded type. */
  type: string;
  isObject: boolean;
  collection: 'none' | 'list' | 'dictionary';
  /** Whether the value (or each element of a collection) may be null. */
  optional: boolean;
}

/** An object type after parsing. */
export interface ParsedType {
  name: string;
  asymmetric: boolean;
  embedded: boolean;
  primaryKey: string | undefined;
  properties: Map<string, ParsedProperty>;
}

/** A checked schema: type name to parsed type. */
export type ParsedSchema = Map<string, ParsedType>;

function schemaError(message: string): IngestError {
  return new IngestError('invalid-schema', message);
}

const isPrimitive = (t: string): t is PrimitiveType => (PRIMITIVE_TYPES as readonly string[]).includes(t);

/** Deepest nesting of documents, lists and dictionaries a document may have (the top level is 1). */
export const MAX_NESTING_DEPTH = 100;

/** Whether a field or dictionary key is allowed in a stored document. */
export function fieldNameProblem(name: string): string | undefined {
  // Assigned to a plain object, "__proto__" replaces its prototype instead of becoming data.
  if (name === '__proto__') return 'is "__proto__"';
  if (name.startsWith('$')) return 'starts with "$"';
  if (name.includes('.')) return 'contains "."';
  if (name.includes('\0')) return 'contains NUL';
  return undefined;
}

function parseProperty(typeName: string, propName: string, raw: PropertySchema): ParsedProperty {
  const where = `${typeName}.${propName}`;
  let type: string;
  let collection: ParsedProperty['collection'] = 'none';
  let optional = false;
  if (typeof raw === 'string') {
    let s = raw;
    if (s.endsWith('[]')) { collection = 'list'; s = s.slice(0, -2); }
    else if (s.endsWith('{}')) { collection = 'dictionary'; s = s.slice(0, -2); }
    else if (s.endsWith('<>')) throw schemaError(`${where}: sets ("${raw}") are not supported for ingest; use a list`);
    if (s.endsWith('?')) { optional = true; s = s.slice(0, -1); }
    type = s;
  } else if (raw !== null && typeof raw === 'object' && typeof raw.type === 'string') {
    optional = raw.optional === true;
    if (raw.type === 'list' || raw.type === 'dictionary' || raw.type === 'object') {
      if (typeof raw.objectType !== 'string') throw schemaError(`${where}: type "${raw.type}" needs an objectType`);
      if (raw.type !== 'object') collection = raw.type;
      type = raw.objectType;
    } else if (raw.type === 'set' || raw.type === 'linkingObjects') {
      throw schemaError(`${where}: type "${raw.type}" is not supported for ingest`);
    } else {
      type = raw.type;
    }
  } else {
    throw schemaError(`${where}: a property must be a type string such as "int?" or an object with a "type"`);
  }
  if (type === '') throw schemaError(`${where}: the type is empty`);
  const isObject = !isPrimitive(type);
  // Realm: links to objects are always optional, and mixed always holds null.
  if (isObject && collection === 'none') optional = true;
  if (type === 'mixed') optional = true;
  return { type, isObject, collection, optional };
}

/**
 * Checks a schema against Realm's rules for asymmetric sync and parses it.
 * Throws an `invalid-schema` {@link IngestError} naming the type and property.
 */
export function parseSchema(schema: readonly ObjectSchema[]): ParsedSchema {
  if (!Array.isArray(schema) || schema.length === 0) throw schemaError('schema: expected a non-empty array of object types');
  const parsed: ParsedSchema = new Map();
  for (const [i, t] of schema.entries()) {
    if (t === null || typeof t !== 'object') throw schemaError(`schema[${i}]: expected an object type`);
    if (typeof t.name !== 'string' || t.name === '') throw schemaError(`schema[${i}]: "name" must be a non-empty string`);
    if (t.name.startsWith('$') || t.name.includes('\0') || t.name.includes('/')) throw schemaError(`${t.name}: invalid type name`);
    if (parsed.has(t.name)) throw schemaError(`${t.name}: declared twice`);
    if (t.asymmetric && t.embedded) throw schemaError(`${t.name}: cannot be both asymmetric and embedded`);
    if (t.properties === null || typeof t.properties !== 'object' || Object.keys(t.properties).length === 0) {
      throw schemaError(`${t.name}: "properties" must declare at least one property`);
    }
    const properties = new Map<string, ParsedProperty>();
    for (const [propName, raw] of Object.entries(t.properties)) {
      const problem = fieldNameProblem(propName);
      if (problem || propName === '') throw schemaError(`${t.name}.${propName}: property name ${problem ?? 'is empty'}`);
      properties.set(propName, parseProperty(t.name, propName, raw as PropertySchema));
    }
    const asymmetric = t.asymmetric === true;
    const embedded = t.embedded === true;
    if (asymmetric) {
      if (t.primaryKey !== '_id') throw schemaError(`${t.name}: an asymmetric type needs primaryKey "_id"`);
      const pk = properties.get('_id');
      if (!pk) throw schemaError(`${t.name}._id: the primary key must be declared as a property`);
      if (pk.collection !== 'none' || pk.optional || !(PRIMARY_KEY_TYPES as readonly string[]).includes(pk.type)) {
        throw schemaError(`${t.name}._id: the primary key must be a required objectId, uuid, string or int`);
      }
    } else if (t.primaryKey !== undefined) {
      throw schemaError(`${t.name}: only asymmetric types have a primary key here`);
    }
    if (!asymmetric && !embedded) {
      throw schemaError(`${t.name}: every type must be asymmetric (ingestable) or embedded (data ingest has no other kind)`);
    }
    parsed.set(t.name, { name: t.name, asymmetric, embedded, primaryKey: asymmetric ? '_id' : undefined, properties });
  }
  for (const t of parsed.values()) {
    for (const [propName, p] of t.properties) {
      if (!p.isObject) continue;
      const target = parsed.get(p.type);
      if (!target) throw schemaError(`${t.name}.${propName}: unknown type "${p.type}"`);
      if (!target.embedded) throw schemaError(`${t.name}.${propName}: "${p.type}" is not embedded; asymmetric objects can only contain embedded objects`);
    }
  }
  if (![...parsed.values()].some((t) => t.asymmetric)) throw schemaError('schema: declare at least one asymmetric type');
  return parsed;
}

// ---------------------------------------------------------------------------
// Documents

/** `page`: friendly JS input, converted to exact BSON types. `wire`: exact BSON types only. */
export type ValidationMode = 'page' | 'wire';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function fail(code: IngestErrorCode, path: string, detail: string): never {
  throw new IngestError(code, `${path}: ${detail}`, { path });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const tag = (v as { _bsontype?: string })._bsontype;
    if (typeof tag === 'string') return `BSON ${tag}`;
    const ctor = Object.getPrototypeOf(v)?.constructor?.name;
    return ctor && ctor !== 'Object' ? `a ${ctor}` : 'an object';
  }
  return `a ${typeof v}`;
}

const bsonType = (v: unknown): string | undefined =>
  v !== null && typeof v === 'object' ? (v as { _bsontype?: string })._bsontype : undefined;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || bsonType(v) !== undefined) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_]\w*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

class Converter {
  private readonly ancestors = new Set<object>();
  constructor(private readonly schema: ParsedSchema, private readonly mode: ValidationMode) {}

  object(type: ParsedType, value: unknown, path: string): Document {
    if (!isPlainObject(value)) fail('wrong-type', path, `expected a plain object for ${type.name}, got ${describe(value)}`);
    this.enter(value, path);
    const out: Document = {};
    for (const key of Object.keys(value)) {
      if (!type.properties.has(key)) {
        if (value[key] === undefined) continue;
        const problem = fieldNameProblem(key);
        if (problem) fail('invalid-field-name', keyPath(path, key), `field name ${problem}`);
        fail('unknown-field', keyPath(path, key), `${type.name} has no property "${key}"`);
      }
    }
    for (const [name, prop] of type.properties) {
      const v = value[name];
      const p = keyPath(path, name);
      if (v === undefined || v === null) {
        if (!prop.optional || prop.collection !== 'none') {
          if (prop.collection !== 'none') {
            if (v === null) fail('wrong-type', p, `expected ${prop.collection === 'list' ? 'an array' : 'an object'}, got null`);
            continue; // an absent list or dictionary is stored absent, like an absent optional
          }
          fail('missing-field', p, `required ${prop.type} is ${v === null ? 'null' : 'missing'}`);
        }
        if (v === null) out[name] = null;
        continue;
      }
      out[name] = this.property(prop, v, p);
    }
    this.leave(value);
    return out;
  }

  private enter(v: object, path: string): void {
    if (this.ancestors.has(v)) fail('cyclic-value', path, 'the document contains a reference cycle');
    if (this.ancestors.size >= MAX_NESTING_DEPTH) fail('nested-too-deep', path, `the document is nested more than ${MAX_NESTING_DEPTH} levels deep`);
    this.ancestors.add(v);
  }
  private leave(v: object): void {
    this.ancestors.delete(v);
  }

  private property(prop: ParsedProperty, v: unknown, path: string): unknown {
    if (prop.collection === 'list') {
      if (!Array.isArray(v)) fail('wrong-type', path, `expected an array, got ${describe(v)}`);
      this.enter(v, path);
      const out = v.map((el, i) => this.element(prop, el, `${path}[${i}]`));
      this.leave(v);
      return out;
    }
    if (prop.collection === 'dictionary') {
      if (!isPlainObject(v)) fail('wrong-type', path, `expected a plain object (dictionary), got ${describe(v)}`);
      this.enter(v, path);
      const out: Document = {};
      for (const [k, el] of Object.entries(v)) {
        const p = keyPath(path, k);
        const problem = fieldNameProblem(k);
        if (problem) fail('invalid-field-name', p, `dictionary key ${problem}`);
        if (el === undefined) continue;
        out[k] = this.element(prop, el, p);
      }
      this.leave(v);
      return out;
    }
    return this.element(prop, v, path);
  }

  private element(prop: ParsedProperty, v: unknown, path: string): unknown {
    if (v === null || v === undefined) {
      if (prop.optional) return null;
      fail('wrong-type', path, `expected ${prop.type}, got ${v === null ? 'null' : 'undefined'}`);
    }
    if (prop.isObject) return this.object(this.schema.get(prop.type)!, v, path);
    return this.primitive(prop.type as PrimitiveType, v, path);
  }

  primitive(type: PrimitiveType, v: unknown, path: string): unknown {
    const wire = this.mode === 'wire';
    const tag = bsonType(v);
    const wrong = (): never => fail('wrong-type', path, `expected ${type}, got ${describe(v)}`);
    switch (type) {
      case 'string':
        if (typeof v !== 'string') return wrong();
        if (!v.isWellFormed()) fail('wrong-type', path, 'string is not well-formed Unicode (lone surrogate)');
        return v;
      case 'bool':
        return typeof v === 'boolean' ? v : wrong();
      case 'double':
      case 'float':
        if (tag === 'Double') return v;
        if (!wire && typeof v === 'number') return new Double(v);
        return wrong();
      case 'int':
        return this.int(v, path, wrong);
      case 'date':
        if (!(v instanceof Date) && Object.prototype.toString.call(v) !== '[object Date]') return wrong();
        if (Number.isNaN((v as Date).getTime())) fail('wrong-type', path, 'expected date, got an invalid Date');
        return v;
      case 'objectId':
        return tag === 'ObjectId' ? v : wrong();
      case 'uuid':
        if (tag === 'Binary' && (v as Binary).sub_type === Binary.SUBTYPE_UUID && (v as Binary).position === 16) {
          return v instanceof UUID ? v : new UUID((v as Binary).buffer);
        }
        return wrong();
      case 'decimal128':
        return tag === 'Decimal128' ? v : wrong();
      case 'data':
        if (tag === 'Binary' && (v as Binary).sub_type === Binary.SUBTYPE_DEFAULT) return v;
        if (!wire && v instanceof Uint8Array) return new Binary(v);
        if (!wire && v instanceof ArrayBuffer) return new Binary(new Uint8Array(v));
        return wrong();
      case 'mixed':
        return this.mixed(v, path);
    }
  }

  private int(v: unknown, path: string, wrong: () => never): Long {
    const tag = bsonType(v);
    if (tag === 'Long') return v as Long;
    if (tag === 'Int32') return Long.fromNumber((v as { value: number }).value);
    if (this.mode === 'wire') return wrong();
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) fail('not-an-integer', path, `expected int, got ${v}`);
      const b = BigInt(v);
      if (b < INT64_MIN || b > INT64_MAX) fail('int-out-of-range', path, `${v} is outside the 64-bit int range`);
      return Long.fromBigInt(b);
    }
    if (typeof v === 'bigint') {
      if (v < INT64_MIN || v > INT64_MAX) fail('int-out-of-range', path, `${v} is outside the 64-bit int range`);
      return Long.fromBigInt(v);
    }
    return wrong();
  }

  private mixed(v: unknown, path: string): unknown {
    if (v === null) return null;
    const tag = bsonType(v);
    if (tag !== undefined) {
      if (['Long', 'Int32', 'Double', 'Decimal128', 'ObjectId'].includes(tag)) return v;
      if (tag === 'Binary' && [Binary.SUBTYPE_DEFAULT, Binary.SUBTYPE_UUID].includes((v as Binary).sub_type)) return v;
      fail('wrong-type', path, `mixed cannot hold BSON ${tag}`);
    }
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return this.primitive(typeof v === 'string' ? 'string' : 'bool', v, path);
      case 'number':
        if (this.mode === 'wire') break;
        return new Double(v); // a plain JS number is a double; use bigint or BSON.Long for an int
      case 'bigint':
        return this.int(v, path, () => fail('wrong-type', path, 'bad int'));
      case 'object': {
        if (v instanceof Date || Object.prototype.toString.call(v) === '[object Date]') return this.primitive('date', v, path);
        if (this.mode === 'page' && (v instanceof Uint8Array || v instanceof ArrayBuffer)) return this.primitive('data', v, path);
        if (Array.isArray(v)) {
          this.enter(v, path);
          const out = v.map((el, i) => (el === undefined ? null : this.mixed(el, `${path}[${i}]`)));
          this.leave(v);
          return out;
        }
        if (isPlainObject(v)) {
          this.enter(v, path);
          const out: Document = {};
          for (const [k, el] of Object.entries(v)) {
            const p = keyPath(path, k);
            const problem = fieldNameProblem(k);
            if (problem) fail('invalid-field-name', p, `key ${problem}`);
            if (el !== undefined) out[k] = this.mixed(el, p);
          }
          this.leave(v);
          return out;
        }
        break;
      }
    }
    return fail('wrong-type', path, `mixed cannot hold ${describe(v)}`);
  }
}

/**
 * Validates `doc` as an instance of the asymmetric type `typeName` and
 * returns it with every value in its exact BSON type. Generates `_id` when
 * absent and the key type is objectId or uuid.
 *
 * @param path - how messages name the document, e.g. `Reading[3]` for the 4th of an array
 *
 * @throws {@link IngestError} with the rule's code and the path of the value
 */
export function convertDocument(
  schema: ParsedSchema, typeName: string, doc: unknown, mode: ValidationMode = 'page', path: string = typeName,
): Document {
  const type = schema.get(typeName);
  if (!type || !type.asymmetric) {
    throw new IngestError(
      'unknown-type',
      type ? `${typeName}: is embedded, not asymmetric; only asymmetric types can be ingested` : `${typeName}: no such type in the schema`,
      { path: typeName },
    );
  }
  if (mode === 'page' && isPlainObject(doc) && (doc._id === undefined || doc._id === null)) {
    const pk = type.properties.get('_id')!;
    const { _id: _absent, ...rest } = doc;
    if (pk.type === 'objectId') doc = { _id: new ObjectId(), ...rest };
    else if (pk.type === 'uuid') doc = { _id: new UUID(), ...rest };
  }
  const converted = new Converter(schema, mode).object(type, doc, path);
  // The key is stored as text (PostgreSQL text cannot hold NUL), unlike values inside the document.
  if (typeof converted._id === 'string' && converted._id.includes('\0')) {
    fail('wrong-type', `${path}._id`, 'a string primary key cannot contain NUL');
  }
  return converted;
}

/**
 * The storage key of a document's `_id`, prefixed by its type so that the
 * string "1" and the int 1 never collide.
 */
export function primaryKeyString(id: unknown): string {
  const tag = bsonType(id);
  if (typeof id === 'string') return `s:${id}`;
  if (tag === 'ObjectId') return `o:${(id as ObjectId).toHexString()}`;
  if (tag === 'Long') return `i:${(id as Long).toString()}`;
  if (tag === 'Int32') return `i:${(id as { value: number }).value}`;
  if (tag === 'Binary') return `u:${toHex((id as Binary).buffer)}`;
  throw new IngestError('wrong-type', `_id: cannot be used as a primary key (${describe(id)})`, { path: '_id' });
}

function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
