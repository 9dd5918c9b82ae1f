/**
 * The BSON value classes, exposed as `SwIngest.BSON` the way Realm exposes
 * `Realm.BSON`: use them for values JavaScript cannot express exactly
 * (64-bit ints, Decimal128, ObjectId, UUID, binary).
 */
import { Binary, Decimal128, Double, Int32, Long, ObjectId, UUID } from 'bson';

export const BSON = { Binary, Decimal128, Double, Int32, Long, ObjectId, UUID } as const;
