/**
 * Deleted means deleted, even after a crash (issue #9): once an ack is answered, no file of the
 * data folder holds the letter's bytes, whether the Operator is then killed or restarted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as realSleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { randomBytes } from '../../common/crypto/index.js';
import { SqliteStore } from '../../operator/index.js';
import { GroupCommit } from '../../operator/store/sqlite/group-commit.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { TestClient, makeKomrade, type TestKomrade } from '../support/operator-test-client.js';

const POW_BITS = 4;
const NOW = 1_800_000_000_000;
const started: OperatorProcess[] = [];
const temps: string[] = [];

afterAll(async () => {
  await Promise.all(started.map((p) => p.cleanup()));
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

async function start(dataDir?: string): Promise<OperatorProcess> {
  const operator = await startOperatorProcess({
    powBits: POW_BITS,
    ...(dataDir === undefined ? {} : { dataDir }),
  });
  started.push(operator);
  return operator;
}

/** A ciphertext stand-in: random bytes around a marker, `size` bytes in all. */
function ciphertext(marker: string, size: number): Buffer {
  const mark = Buffer.from(marker);
  const head = Math.floor((size - mark.length) / 2);
  return Buffer.concat([randomBytes(head), mark, randomBytes(size - mark.length - head)]);
}

/** What to look for: the whole ciphertext, its marker, and two long random runs of it. */
function needles(sealed: Buffer, marker: string): Buffer[] {
  return [sealed, Buffer.from(marker), sealed.subarray(0, 64), sealed.subarray(-64)];
}

/** Every file under `dir` (recursively) that contains any of `patterns`. */
function filesHolding(dir: string, patterns: readonly Buffer[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const content = readFileSync(path);
    if (patterns.some((pattern) => content.includes(pattern))) found.push(path);
  }
  return found;
}

/** The data folder's file names, to show which files the scan covered. */
function fileNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

async function fetchIds(client: TestClient, komrade: TestKomrade): Promise<string[]> {
  const reply = await client.post('/v1/mail/fetch', { limit: 10 }, { as: komrade });
  expect(reply.status).toBe(200);
  return (reply.json as { letters: { id: string }[] }).letters.map((letter) => letter.id);
}

describe('an acked letter after a crash', () => {
  it('is in no file of the data folder once the ack is answered, killed or restarted', async () => {
    const first = await start();
    const client = new TestClient(first.url);
    const alice = makeKomrade('alice');
    const bob = makeKomrade('bob');
    expect((await client.register(alice, POW_BITS)).status).toBe(201);
    expect((await client.register(bob, POW_BITS)).status).toBe(201);

    // In-page and overflow-page letters to ack, and one kept to show the scan finds letters.
    const small = ciphertext('KOMRADE-CRASH-SMALL-7f3a9c', 1_024);
    const large = ciphertext('KOMRADE-CRASH-LARGE-1b8e4d', 65_536);
    const third = ciphertext('KOMRADE-CRASH-THIRD-52c0aa', 4_096);
    const kept = ciphertext('KOMRADE-CRASH-KEPT-e91d07', 1_024);
    const gone = [
      ...needles(small, 'KOMRADE-CRASH-SMALL-7f3a9c'),
      ...needles(large, 'KOMRADE-CRASH-LARGE-1b8e4d'),
      ...needles(third, 'KOMRADE-CRASH-THIRD-52c0aa'),
    ];
    // Each letter is its own anonymous send (sealed lengths of the size classes).
    const ids: string[] = [];
    for (const sealed of [small, large, third, kept]) {
      const sent = await client.sendLetter(alice, 'bob', sealed);
      expect(sent.status).toBe(201);
      ids.push((sent.json as { id: string }).id);
    }
    const [smallId, largeId, thirdId, keptId] = ids;
    expect(await fetchIds(client, bob)).toEqual([smallId, largeId, thirdId, keptId]);
    expect(filesHolding(first.dataDir, gone).length).toBeGreaterThan(0);

    // Acks in quick succession, each its own request, then a crash right after the last answer.
    for (const id of [smallId, largeId, thirdId]) {
      const ack = await client.post('/v1/mail/ack', { ids: [id] }, { as: bob });
      expect(ack.json).toEqual({ deleted: 1 });
    }
    await first.kill();
    expect(await first.exited).toBeNull();

    expect(fileNames(first.dataDir)).toEqual(
      expect.arrayContaining(['operator.db', 'operator.db-wal', 'operator.db-shm']),
    );
    expect(filesHolding(first.dataDir, gone)).toEqual([]);
    expect(filesHolding(first.dataDir, needles(kept, 'KOMRADE-CRASH-KEPT-e91d07'))).not.toEqual([]);

    const second = await start(first.dataDir);
    const again = new TestClient(second.url);
    expect((await again.get('/v1/operator')).status).toBe(200);
    expect(filesHolding(second.dataDir, gone)).toEqual([]);
    expect(await fetchIds(again, bob)).toEqual([keptId]);
  });
});

describe('opening the store after a crash', () => {
  it('scrubs deleted bytes a killed process left in the WAL before the store is usable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'komrade-crash-delete-'));
    temps.push(dir);
    const file = join(dir, 'operator.db');
    const marker = 'KOMRADE-CRASH-WAL-3d6f12';
    const sealed = ciphertext(marker, 5_000);
    const store = new SqliteStore(file);
    await store.register({
      name: 'bob',
      signKey: randomBytes(32),
      boxKey: randomBytes(32),
      keyHolder: 'self',
      ratchetKey: null,
      registeredAt: NOW,
      sig: randomBytes(64),
    });
    await store.deposit([{ to: 'bob', sealed }], {
      receivedAt: NOW,
      expiresAt: NOW + 1_000_000,
      quota: 10,
    });
    await store.close();

    // Another process deletes the letter (committed, in the WAL only) and dies before any
    // checkpoint: the .db still holds the letter, the WAL holds the delete.
    const crash = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import Database from 'better-sqlite3';
         const db = new Database(process.argv[1]);
         db.pragma('journal_mode = WAL');
         db.pragma('synchronous = FULL');
         db.pragma('secure_delete = ON');
         db.pragma('wal_autocheckpoint = 0');
         db.prepare('DELETE FROM letters').run();
         process.kill(process.pid, 'SIGKILL');`,
        file,
      ],
      { cwd: process.cwd(), encoding: 'utf8' },
    );
    expect(crash.signal).toBe('SIGKILL');
    expect(fileNames(dir)).toEqual(
      expect.arrayContaining(['operator.db', 'operator.db-wal', 'operator.db-shm']),
    );
    expect(filesHolding(dir, needles(sealed, marker))).toEqual([file]);

    const reopened = new SqliteStore(file);
    try {
      expect(filesHolding(dir, needles(sealed, marker))).toEqual([]);
      expect((await reopened.fetch('bob', 10, NOW)).letters).toEqual([]);
    } finally {
      await reopened.close();
    }
    // The letter's overflow pages went to the freelist: they are there, and zeroed (above).
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('freelist_count', { simple: true })).toBeGreaterThan(0);
    } finally {
      check.close();
    }
  });
});

describe('group commit', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves a deleting turn’s barrier only once the WAL is scrubbed, outwaiting a reader', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate'] });
    const dir = mkdtempSync(join(tmpdir(), 'komrade-group-commit-'));
    temps.push(dir);
    const file = join(dir, 'test.db');
    const marker = 'KOMRADE-GROUP-COMMIT-8a41f5';
    // No busy wait: a blocked checkpoint reports busy at once instead of after 5 s.
    const db = new Database(file, { timeout: 0 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.exec('CREATE TABLE t (x BLOB NOT NULL)');
    const commit = new GroupCommit(db, 50);
    const reader = new Database(file, { readonly: true });
    try {
      commit.write(() => db.prepare('INSERT INTO t (x) VALUES (?)').run(ciphertext(marker, 600)));
      await vi.advanceTimersByTimeAsync(0);
      await commit.barrier();

      // A reader's open snapshot keeps the checkpoint from truncating the WAL.
      reader.exec('BEGIN');
      reader.prepare('SELECT COUNT(*) FROM t').get();
      commit.write(() => db.prepare('DELETE FROM t').run(), true);
      let answered = false;
      void commit.barrier().then(() => {
        answered = true;
      });
      // Commit, then let the real fdatasync (thread pool) end: the scrub is tried after it.
      await vi.advanceTimersByTimeAsync(0);
      await realSleep(250);
      await vi.advanceTimersByTimeAsync(500);
      expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 0 });
      expect(answered).toBe(false);
      expect(filesHolding(dir, [Buffer.from(marker)])).toEqual([`${file}-wal`]);

      reader.exec('COMMIT');
      await vi.advanceTimersByTimeAsync(50);
      expect(answered).toBe(true);
      expect(filesHolding(dir, [Buffer.from(marker)])).toEqual([]);
    } finally {
      reader.close();
      await commit.flush();
      db.close();
    }
  });
});
