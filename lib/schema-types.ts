/**
 * Types that a schema declared `as const` (or passed inline to `open()`, or
 * through {@link defineSchema}) gives to `ingest(name, doc)`: a wrong type
 * name, an unknown field or a value of the wrong type is a compile error.
 * A schema whose names TypeScript only knows as `string` (say, loaded from
 * JSON) falls back to untyped documents.
 */
import type { Binary, Decimal128, Double, Int32, Long, ObjectId, UUID } from 'bson';
import type { ObjectSchema } from '../core/schema.js';

/** A value a `mixed` property can hold. */
export type MixedValue =
  | null | string | boolean | number | bigint | Date | Uint8Array | ArrayBuffer
  | ObjectId | UUID | Decimal128 | Long | Int32 | Double | Binary
  | readonly MixedValue[] | { readonly [key: string]: MixedValue };

/** What `ingest()` accepts for each primitive type. */
export interface PrimitiveValues {
  objectId: ObjectId;
  uuid: UUID;
  string: string;
  int: number | bigint | Long | Int32;
  double: number | Double;
  float: number | Double;
  bool: boolean;
  date: Date;
  decimal128: Decimal128;
  data: Uint8Array | ArrayBuffer | Binary;
  mixed: MixedValue;
}

type Schema = readonly ObjectSchema[];

/** A property's notation split into collection, element type and optionality. */
type Parse<P> = P extends string
  ? P extends `${infer E}[]` ? ParseElement<E, 'list'>
  : P extends `${infer E}{}` ? ParseElement<E, 'dictionary'>
  : ParseElement<P, 'none'>
  : P extends { type: 'list' | 'dictionary'; objectType: infer E extends string }
    ? { collection: P['type']; base: E; optional: P extends { optional: true } ? true : false }
  : P extends { type: 'object'; objectType: infer E extends string }
    ? { collection: 'none'; base: E; optional: true }
  : P extends { type: infer E extends string }
    ? { collection: 'none'; base: E; optional: P extends { optional: true } ? true : false }
  : never;

type ParseElement<E extends string, C> = E extends `${infer B}?`
  ? { collection: C; base: B; optional: true }
  : { collection: C; base: E; optional: false };

type TypeNamed<S extends Schema, N> = Extract<S[number], { name: N }>;

/** The value of one element: a primitive, or an embedded object. */
type ElementValue<S extends Schema, B> = B extends keyof PrimitiveValues
  ? PrimitiveValues[B]
  : TypeNamed<S, B> extends never ? never : Doc<S, TypeNamed<S, B>>;

type PropertyValue<S extends Schema, P> = Parse<P> extends infer R extends { collection: unknown; base: unknown; optional: boolean }
  ? R['collection'] extends 'list'
    ? ReadonlyArray<ElementValue<S, R['base']> | (R['optional'] extends true ? null : never)>
    : R['collection'] extends 'dictionary'
      ? { readonly [key: string]: ElementValue<S, R['base']> | (R['optional'] extends true ? null : never) }
      : ElementValue<S, R['base']> | (R['optional'] extends true ? null : never)
  : never;

/** Whether a property may be left out: optional values, lists, dictionaries, embedded links, mixed, and generated keys. */
type MayOmit<S extends Schema, K, P> = K extends '_id'
  ? Parse<P>['base'] extends 'objectId' | 'uuid' ? true : false
  : Parse<P>['optional'] extends true ? true
  : Parse<P>['collection'] extends 'list' | 'dictionary' ? true
  : Parse<P>['base'] extends 'mixed' ? true
  : Parse<P>['base'] extends keyof PrimitiveValues ? false
  : TypeNamed<S, Parse<P>['base']> extends never ? false : true;

type Props<T> = T extends { properties: infer P } ? P : never;

type Doc<S extends Schema, T> = {
  -readonly [K in keyof Props<T> as MayOmit<S, K, Props<T>[K]> extends true ? never : K]: PropertyValue<S, Props<T>[K]>;
} & {
  -readonly [K in keyof Props<T> as MayOmit<S, K, Props<T>[K]> extends true ? K : never]?: PropertyValue<S, Props<T>[K]> | undefined;
};

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Whether the schema's type names are known to TypeScript (declared `as const` or inline). */
type IsTyped<S extends Schema> = string extends S[number]['name'] ? false : true;

/**
 * The schema type a client carries: `S` itself when TypeScript knows its
 * names, else the plain `readonly ObjectSchema[]`, so that a client opened
 * with a loose schema is simply an `IngestClient`.
 */
export type ClientSchema<S extends Schema> = IsTyped<S> extends true ? S : readonly ObjectSchema[];

/** Names of the asymmetric (ingestable) types of `S`. */
export type AsymmetricName<S extends Schema> = IsTyped<S> extends true
  ? Extract<S[number], { asymmetric: true }>['name']
  : string;

/**
 * The document `ingest(name, doc)` accepts for the asymmetric type `N` of
 * schema `S`.
 *
 * @example
 * ```ts
 * const schema = defineSchema([{ name: 'Reading', asymmetric: true, primaryKey: '_id',
 *   properties: { _id: 'objectId', temp: 'double' } }]);
 * type Reading = IngestDocument<typeof schema, 'Reading'>; // { temp: number | Double; _id?: ObjectId }
 * ```
 */
export type IngestDocument<S extends Schema, N extends string> = IsTyped<S> extends true
  ? Simplify<Doc<S, TypeNamed<S, N>>>
  : Record<string, unknown>;

/**
 * Returns its argument, typed as exactly what was written, so that a schema
 * declared apart from `open()` still types `ingest()` (like `as const`).
 *
 * @example
 * ```ts
 * const schema = defineSchema([{ name: 'Reading', asymmetric: true, primaryKey: '_id', properties: { _id: 'objectId', temp: 'double' } }]);
 * const client = await open({ endpoint: '/api/ingest', serviceWorker: '/sw-ingest-sw.js', schema });
 * await client.ingest('Reading', { temp: 21.5 });
 * ```
 */
export function defineSchema<const S extends Schema>(schema: S): S {
  return schema;
}
