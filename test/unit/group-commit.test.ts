/**
 * Group commit with the WAL synced off the event loop (issue 12): a barrier resolves only after an
 * fdatasync of the `-wal` that started after its turn's COMMIT; turns committed during a sync
 * share the next one; a deleting turn is answered only once scrubbed, deleting turns share scrubs;
 * a failed sync fails every later barrier. Real SQLite files; only fdatasync's completion is held.
 */
import type * as fs from 'node:fs';
import { fstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomBytes } from '../../common/crypto/index.js';
import { GroupCommit } from '../../operator/store/sqlite/group-commit.js';

type SyncCallback = (error: NodeJS.ErrnoException | null) => void;

const syncs = vi.hoisted(() => ({
  /** While true, each fdatasync waits in `queue` until the test runs it. */
  held: false,
  queue: [] as (() => void)[],
  /** The descriptor of every fdatasync call, in order. */
  fds: [] as number[],
  /** When set, fdatasync fails with this instead of syncing. */
  failWith: undefined as NodeJS.ErrnoException | undefined,
}));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  const fdatasync = (fd: number, callback: SyncCallback): void => {
    syncs.fds.push(fd);
    const failure = syncs.failWith;
    const run = () => {
      if (failure === undefined) real.fdatasync(fd, callback);
      else
        setImmediate(() => {
          callback(failure);
        });
    };
    if (syncs.held) syncs.queue.push(run);
    else run();
  };
  return { ...real, fdatasync, default: { ...real, fdatasync } };
});

const temps: string[] = [];
const open: { db: Database.Database; commit: GroupCommit }[] = [];

afterEach(async () => {
  syncs.held = false;
  syncs.failWith = undefined;
  for (const run of syncs.queue.splice(0)) run();
  syncs.fds.length = 0;
  for (const { db, commit } of open.splice(0)) {
    await commit.flush().catch(() => undefined);
    db.close();
  }
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(): { db: Database.Database; commit: GroupCommit; file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-group-commit-unit-'));
  temps.push(dir);
  const file = join(dir, 'test.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('secure_delete = ON');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB NOT NULL)');
  const commit = new GroupCommit(db);
  open.push({ db, commit });
  return { db, commit, file, dir };
}

/** A promise's state, readable synchronously. */
function track(promise: Promise<void>): { settled: () => string } {
  let state = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  return { settled: () => state };
}

/** Lets the turn's `setImmediate` commit run (and anything it started on the loop). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs the held syncs, oldest first (`count` of them, or all). */
function releaseSyncs(count = syncs.queue.length): void {
  for (const run of syncs.queue.splice(0, count)) run();
}

function marked(marker: string): Buffer {
  return Buffer.concat([randomBytes(300), Buffer.from(marker), randomBytes(300)]);
}

function filesHolding(dir: string, marker: string): string[] {
  return readdirSync(dir).filter((name) => readFileSync(join(dir, name)).includes(marker));
}

describe('group commit with the WAL synced on the thread pool', () => {
  it('resolves a barrier only after an fdatasync of the -wal file started after its COMMIT', async () => {
    const { db, commit, file } = setup();
    syncs.held = true;
    commit.write(() => db.prepare('INSERT INTO t (x) VALUES (?)').run(randomBytes(64)));
    const barrier = track(commit.barrier());
    await nextTurn();
    // Committed (another connection sees the row) but not yet answered.
    const reader = new Database(file, { readonly: true });
    expect(reader.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 1 });
    reader.close();
    expect(syncs.fds).toHaveLength(1);
    expect(fstatSync(syncs.fds[0] as number).ino).toBe(statSync(`${file}-wal`).ino);
    await nextTurn();
    expect(barrier.settled()).toBe('pending');
    // A barrier asked for later, with no turn open, still waits for that sync.
    const later = track(commit.barrier());
    releaseSyncs();
    await vi.waitFor(() => {
      expect(barrier.settled()).toBe('resolved');
    });
    expect(later.settled()).toBe('resolved');
  });

  it('makes the turns that commit during a sync share the next sync', async () => {
    const { db, commit } = setup();
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    syncs.held = true;
    commit.write(() => insert.run(randomBytes(64)));
    const first = track(commit.barrier());
    await nextTurn();
    commit.write(() => insert.run(randomBytes(64)));
    const second = track(commit.barrier());
    await nextTurn();
    commit.write(() => insert.run(randomBytes(64)));
    const third = track(commit.barrier());
    await nextTurn();
    // One sync in flight; the two later turns wait for one started after their COMMITs.
    expect(syncs.fds).toHaveLength(1);
    releaseSyncs(1);
    await vi.waitFor(() => {
      expect(first.settled()).toBe('resolved');
    });
    expect(syncs.fds).toHaveLength(2);
    expect([second.settled(), third.settled()]).toEqual(['pending', 'pending']);
    releaseSyncs();
    await vi.waitFor(() => {
      expect(third.settled()).toBe('resolved');
    });
    expect(second.settled()).toBe('resolved');
    expect(syncs.fds).toHaveLength(2);
  });

  it('answers a deleting turn only once scrubbed, and deleting turns share one scrub', async () => {
    const { db, commit, dir } = setup();
    const markers = ['KOMRADE-GC-UNIT-ONE-4b1d', 'KOMRADE-GC-UNIT-TWO-93ce'];
    for (const marker of markers) {
      commit.write(() => db.prepare('INSERT INTO t (x) VALUES (?)').run(marked(marker)));
    }
    await commit.barrier();
    expect(filesHolding(dir, markers[0] as string)).toEqual(['test.db-wal']);
    const checkpoint = vi.spyOn(db, 'pragma');
    const remove = db.prepare('DELETE FROM t WHERE id = ?');

    syncs.held = true;
    commit.write(() => remove.run(1), true);
    const firstOnDisk: string[][] = [];
    const first = commit.barrier().then(() => firstOnDisk.push(filesHolding(dir, markers[0]!)));
    await nextTurn();
    commit.write(() => remove.run(2), true);
    const second = commit.barrier();
    await nextTurn();
    expect(checkpoint).not.toHaveBeenCalled();
    await nextTurn();
    syncs.held = false;
    releaseSyncs();
    await Promise.all([first, second]);
    expect(firstOnDisk).toEqual([[]]);
    for (const marker of markers) expect(filesHolding(dir, marker)).toEqual([]);
    const scrubs = checkpoint.mock.calls.filter(([sql]) => sql.startsWith('wal_checkpoint'));
    expect(scrubs).toHaveLength(1);
  });

  it('fails the turn of a failed sync and every turn after it (the disk may have lied)', async () => {
    const { db, commit } = setup();
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    syncs.failWith = Object.assign(new Error('simulated EIO'), { code: 'EIO' });
    commit.write(() => insert.run(randomBytes(64)));
    await expect(commit.barrier()).rejects.toThrow(/restart the Operator/);
    syncs.failWith = undefined;
    commit.write(() => insert.run(randomBytes(64)));
    await expect(commit.barrier()).rejects.toThrow(/restart the Operator/);
    commit.write(() => db.prepare('DELETE FROM t').run(), true);
    await expect(commit.barrier()).rejects.toThrow(/restart the Operator/);
  });

  it('syncs and scrubs what is owed when flushed, then refuses writes', async () => {
    const { db, commit, dir } = setup();
    const marker = 'KOMRADE-GC-UNIT-FLUSH-0a7e';
    commit.write(() => db.prepare('INSERT INTO t (x) VALUES (?)').run(marked(marker)));
    await commit.barrier();
    commit.write(() => db.prepare('DELETE FROM t').run(), true);
    await commit.flush();
    expect(filesHolding(dir, marker)).toEqual([]);
    expect(() => {
      commit.write(() => undefined);
    }).toThrow(/closed/);
  });

  it('refuses a connection that is not in WAL mode or does not sync', () => {
    const memory = new Database(':memory:');
    expect(() => new GroupCommit(memory)).toThrow(/WAL/);
    memory.close();
    const { db } = setup();
    db.pragma('synchronous = OFF');
    expect(() => new GroupCommit(db)).toThrow(/synchronous/);
  });
});
