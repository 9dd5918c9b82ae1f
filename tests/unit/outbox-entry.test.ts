// The outbox entry codec, without IndexedDB: records packed into one entry
// come back byte for byte, in order, with their collections and times; a
// damaged entry is refused rather than misread; settled keys collapse into
// ranges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON } from 'bson';
import { IngestError } from '../../core/errors.js';
import { entryLimits, packEntry, toRanges, unpackEntry, type OutboxRecord } from '../../lib/outbox-entry.js';
import { mulberry32 } from '../helpers/random.js';

const doc = (i: number, pad = 0): Uint8Array => BSON.serialize({ i, s: 'x'.repeat(pad) });

describe('outbox entries', () => {
  it('packs one record as it is (the layout of versions 1 and 2): 1 record back', () => {
    const record: OutboxRecord = { c: 'Reading', t: 1_700_000_000_000, d: doc(1) };
    const entry = packEntry([record]);
    assert.equal(entry.n, undefined);
    assert.deepEqual(entry, { c: 'Reading', t: record.t, d: record.d });
    assert.deepEqual(unpackEntry(entry), [record]);
  });

  it('copies a single record that is a view into a larger buffer, so the entry does not clone that buffer: 1 record back', () => {
    const big = new Uint8Array(1024);
    const bytes = doc(7);
    big.set(bytes, 100);
    const entry = packEntry([{ c: 'Reading', t: 1, d: big.subarray(100, 100 + bytes.length) }]);
    assert.equal(entry.d.buffer.byteLength, bytes.length);
    assert.deepEqual([...unpackEntry(entry)[0]!.d], [...bytes]);
  });

  it('round-trips 2,000 random records of mixed collections and sizes, in order: 2000 records back', () => {
    const random = mulberry32(42);
    const records: OutboxRecord[] = Array.from({ length: 2_000 }, (_, i) => ({
      c: random() < 0.5 ? 'Reading' : 'Note',
      t: 1_700_000_000_000 + Math.floor(random() * 1e6),
      d: doc(i, Math.floor(random() * 300)),
    }));
    const entry = packEntry(records);
    assert.equal(entry.n, 2_000);
    assert.ok(Array.isArray(entry.c), 'mixed collections are kept per record');
    const back = unpackEntry(entry);
    assert.equal(back.length, 2_000);
    for (const [i, r] of back.entries()) {
      assert.equal(r.c, records[i]!.c);
      assert.equal(r.t, records[i]!.t);
      assert.deepEqual(BSON.deserialize(r.d), BSON.deserialize(records[i]!.d));
    }
  });

  it('keeps one collection name for an entry of one collection: 3 records back', () => {
    const entry = packEntry([0, 1, 2].map((i) => ({ c: 'Reading', t: i, d: doc(i) })));
    assert.equal(entry.c, 'Reading');
    assert.deepEqual(unpackEntry(entry).map((r) => [r.c, r.t, BSON.deserialize(r.d).i]), [['Reading', 0, 0], ['Reading', 1, 1], ['Reading', 2, 2]]);
  });

  it('refuses a truncated entry with storage-failed instead of reading garbage: 0 records back', () => {
    const entry = packEntry([0, 1, 2].map((i) => ({ c: 'Reading', t: i, d: doc(i) })));
    const damaged = { ...entry, d: entry.d.subarray(0, entry.d.length - 3) };
    assert.throws(() => unpackEntry(damaged), (e: unknown) => e instanceof IngestError && e.code === 'storage-failed' && /record 2 of 3/.test(e.message));
  });

  it('collapses sorted keys into inclusive ranges: 3 ranges', () => {
    assert.deepEqual(toRanges([1, 2, 3, 7, 9, 10]), [[1, 3], [7, 7], [9, 10]]);
    assert.deepEqual(toRanges([]), []);
  });

  it('sizes entries at a quarter of a batch, never below 1: 2 limits', () => {
    assert.deepEqual(entryLimits(2_000, 1024 * 1024), { maxRecords: 500, maxBytes: 262_144 });
    assert.deepEqual(entryLimits(1, 3), { maxRecords: 1, maxBytes: 1 });
  });
});
