// A SQLite database whose disk fills up (a 2 MiB tmpfs of the test's own)
// under a running server: uploads answer 503 `database-unavailable` with
// `Retry-After`, never 500, and store nothing; once the disk has room again
// (the tmpfs grown) the same server stores the re-sent batches, every record
// once, and nothing it had answered `stored` is missing. Runs the built CLI
// (`npm run build` first); needs root to mount, and is skipped without it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { primaryKeyString } from '../../core/schema.js';
import { login, range, readingId, readingUpload } from '../helpers/http-upload.js';
import { readRows } from '../helpers/server-inject.js';
import { ROOT, TestServer } from '../helpers/server.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import { assertDatabaseUnavailable, loggedUnavailableReasons, sendBatch, StatusTally, type Answer } from '../helpers/unavailable-answers.js';

const disk = await mountTmpfs('2m');
const skip = 'skip' in disk ? disk.skip : false;
const PER_BATCH = 500;
/** Three times what 2 MiB hold: the disk is full long before the last. */
const BATCHES = 40;
/** Batches sent after the disk has room again, besides the re-sends. */
const MORE = 10;

describe('a SQLite database on a disk that fills up', { skip }, () => {
  const tmpfs = disk as Tmpfs;
  let server: TestServer | undefined;
  before(async () => {
    assert.ok(existsSync(join(ROOT, 'server/dist/server/cli.js')), 'these tests run the built CLI: npm run build first');
    server = await new TestServer({
      db: `sqlite:${join(tmpfs.dir, 'ingest.db')}`, staticDir: false,
      extraArgs: ['--rate-limit-ip', '0', '--rate-limit-user', '0'],
    }).start();
  });
  after(async () => {
    await server?.dispose();
    if (!('skip' in disk)) await disk.dispose();
  });

  it(`answers 503 with Retry-After while the disk is full, never 500, and once it has room stores each of ${(BATCHES + MORE) * PER_BATCH} readings once`, async (t) => {
    const srv = server!;
    const { accessToken } = await login(srv.url);
    const tally = new StatusTally();
    const answers: Answer[] = [];
    const storedAnswers = new Map<number, number>(); // seq → times answered `stored`
    const seqsOf = (b: number) => range(b * PER_BATCH, PER_BATCH);
    const check = (answer: Answer, b: number, what: string): boolean => {
      if ('error' in answer || answer.status !== 200) {
        assertDatabaseUnavailable(answer, `${what} batch ${b}`);
        return false;
      }
      answer.results!.forEach((r, i) => {
        assert.ok(r.s === 'stored' || r.s === 'duplicate', `${what} batch ${b}: ${JSON.stringify(r)}`);
        if (r.s === 'stored') storedAnswers.set(b * PER_BATCH + i, (storedAnswers.get(b * PER_BATCH + i) ?? 0) + 1);
      });
      return true;
    };

    // Fill the disk, and keep sending.
    for (let b = 0; b < BATCHES; b++) {
      answers[b] = tally.add(await sendBatch(srv.url, accessToken, readingUpload(seqsOf(b))));
      check(answers[b]!, b, 'first send of');
    }
    assert.ok(tally.of(200) >= 1 && tally.of(503) >= 10, `stored until the disk was full, then refused: ${tally}`);
    const last = answers[BATCHES - 1]!;
    assert.ok('status' in last && last.status === 503, 'the disk was still full at the end');

    // Room again: the device re-sends every batch not answered 200, and keeps sending new ones.
    await tmpfs.resize('64m');
    const resent = new StatusTally();
    for (const [k, first] of answers.entries()) {
      if ('status' in first && first.status === 200) continue;
      assert.ok(check(resent.add(await sendBatch(srv.url, accessToken, readingUpload(seqsOf(k)))), k, 're-send of'), `batch ${k} stored once the disk has room`);
    }
    for (let k = BATCHES; k < BATCHES + MORE; k++) {
      assert.ok(check(resent.add(await sendBatch(srv.url, accessToken, readingUpload(seqsOf(k)))), k, 'new'), `new batch ${k} stored after the disk has room`);
    }
    t.diagnostic(`first sends (${BATCHES} batches of ${PER_BATCH}): ${tally}; re-sends and ${MORE} new: ${resent}; 503s logged for: ${loggedUnavailableReasons(srv.stderr).join(' | ')}`);

    assert.equal(tally.of(500) + resent.of(500), 0, 'no 500');
    for (const [seq, n] of storedAnswers) assert.equal(n, 1, `reading ${seq} was answered stored ${n} times`);
    const rows = await readRows({ db: srv.db });
    const ids = new Set(rows.map((r) => r.id));
    assert.equal(ids.size, rows.length, 'no record stored twice');
    assert.equal(rows.length, (BATCHES + MORE) * PER_BATCH, 'every distinct reading is stored');
    for (const seq of storedAnswers.keys()) assert.ok(ids.has(primaryKeyString(readingId(seq))), `reading ${seq}, answered stored, is stored`);
  });
});
