// The PostgreSQL sink's layout and pool: migrations applied once when many
// servers open the database at once, refused when the database is newer or
// not UTF-8, and no more connections than the pool allows.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ObjectId } from 'bson';
import pg from 'pg';
import { PG_MIGRATIONS, PostgresStore } from '../../server/postgres-store.js';
import type { StoredRow } from '../../server/store.js';
import {
  createTestDatabase, DATABASE_URL, postgresUrlOrSkip, POSTGRES_SKIP_REASON, withClient, type TestDatabase,
} from '../helpers/postgres.js';

const skip = postgresUrlOrSkip() === undefined ? POSTGRES_SKIP_REASON : false;

const row = (id: string): StoredRow => ({
  collection: 'Event', id: `s:${id}`, doc: new Uint8Array([5, 0, 0, 0, 0]), owner: 'u', clientId: 'c', ingestedAt: 1, sentAt: 2, receivedAt: 3,
});

describe('PostgreSQL layout and pool', { skip }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  async function freshDatabase(): Promise<TestDatabase> {
    const db = await createTestDatabase();
    cleanup.push(() => db.drop());
    return db;
  }
  afterEach(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  it('applies each migration once when eight servers open an empty database at the same moment', async () => {
    const db = await freshDatabase();
    const stores = await Promise.all(Array.from({ length: 8 }, () => PostgresStore.open(db.url, { poolMax: 2 })));
    cleanup.push(async () => { await Promise.all(stores.map((s) => s.close())); });
    const versions = await withClient(db.url, async (c) => (await c.query('SELECT version FROM sw_ingest.schema_migrations ORDER BY version')).rows);
    assert.deepEqual(versions.map((v) => v.version), PG_MIGRATIONS.map((m) => m.version));
    // All of them work, and share one secret.
    const secrets = await Promise.all(stores.map((s, i) => s.sharedSecret('jwt-secret', () => `candidate-${i}`)));
    assert.equal(new Set(secrets).size, 1);
    assert.deepEqual(await stores[3]!.insertBatch([row('a')]), ['stored']);
    assert.deepEqual(await stores[5]!.insertBatch([row('a')]), ['duplicate']);
  });

  it('refuses a database whose layout is newer than this sw-ingest, and export refuses an empty one', async () => {
    const db = await freshDatabase();
    await (await PostgresStore.open(db.url)).close();
    await withClient(db.url, (c) => c.query('INSERT INTO sw_ingest.schema_migrations (version, applied_at) VALUES (999, 0)'));
    await assert.rejects(PostgresStore.open(db.url), /layout version 999 is newer than this sw-ingest knows/);
    await assert.rejects(PostgresStore.open(db.url, { mustExist: true }), /layout version 999/);
    const empty = await freshDatabase();
    await assert.rejects(PostgresStore.open(empty.url, { mustExist: true }), /holds no sw-ingest tables/);
  });

  it('refuses a database that is not UTF-8', async () => {
    const name = `swi_latin1_${Date.now()}`;
    await withClient(DATABASE_URL!, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`));
    cleanup.push(() => withClient(DATABASE_URL!, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}));
    const url = new URL(DATABASE_URL!);
    url.pathname = `/${name}`;
    await assert.rejects(PostgresStore.open(url.toString()), /encoding is LATIN1; sw-ingest needs UTF8/);
  });

  it('holds at most poolMax connections however many batches arrive, and writes each in one statement', async () => {
    const db = await freshDatabase();
    const store = await PostgresStore.open(db.url, { poolMax: 3 });
    cleanup.push(() => store.close());
    let peak = 0;
    const sample = async (): Promise<number> => withClient(db.url, async (c) => Number((await c.query(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'sw-ingest'`,
    )).rows[0].n));
    const writes = Promise.all(Array.from({ length: 40 }, (_, b) =>
      store.insertBatch(Array.from({ length: 200 }, (_, i) => row(`${b}-${i}-${new ObjectId().toHexString()}`)))));
    const sampling = (async () => { for (let i = 0; i < 10; i++) peak = Math.max(peak, await sample()); })();
    await Promise.all([writes, sampling]);
    assert.ok(peak >= 1 && peak <= 3, `peak connections ${peak}`);
    assert.equal(await store.count('Event'), 40 * 200);

    // One batch of 500 rows (with a duplicate inside) is one statement on the
    // wire: count what pg's clients send while it runs.
    const sent: string[] = [];
    const original = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const text = args[0];
      sent.push(typeof text === 'string' ? text : String((text as { text?: string })?.text));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    try {
      const rows = Array.from({ length: 500 }, (_, i) => row(`one-${i}`));
      const outcomes = await store.insertBatch([...rows, rows[0]!]);
      assert.equal(outcomes.filter((o) => o === 'stored').length, 500);
      assert.equal(outcomes.at(-1), 'duplicate');
    } finally {
      pg.Client.prototype.query = original;
    }
    assert.equal(sent.length, 1, sent.join('\n---\n'));
    assert.match(sent[0]!, /INSERT INTO sw_ingest\.records[\s\S]*UNNEST[\s\S]*ON CONFLICT/);
  });
});
