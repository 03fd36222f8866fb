/** The SQLite store: the port contracts on real temp files, plus durability and secure deletion. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../common/crypto/index.js';
import { SqliteStore } from '../../operator/index.js';
import { describeStoreContract, komrade } from './store-contract.js';

const NOW = 1_800_000_000_000;
const temps: string[] = [];

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-sqlite-'));
  temps.push(dir);
  return join(dir, 'operator.db');
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract('SqliteStore', () => {
  const store = new SqliteStore(tempDb());
  return Promise.resolve({ store, dispose: () => store.close() });
});

describe('SqliteStore on disk', () => {
  it('keeps everything across close and reopen, replay nonces included', async () => {
    const file = tempDb();
    const first = new SqliteStore(file);
    await first.register(komrade('alice'));
    await first.deposit([{ to: 'alice', sealed: Uint8Array.of(1, 2, 3) }], {
      receivedAt: NOW,
      expiresAt: NOW + 1_000,
      quota: 10,
    });
    const nonce = randomBytes(16);
    expect(await first.remember('alice', nonce, NOW + 1_000)).toBe(true);
    await first.close();

    const second = new SqliteStore(file);
    expect(await second.lookup('alice')).toBeDefined();
    expect((await second.fetch('alice', 10, NOW)).letters).toHaveLength(1);
    expect(await second.remember('alice', nonce, NOW + 1_000)).toBe(false);
    await second.close();
  });

  it('sets WAL and the schema version; a second connection sees committed data only', async () => {
    const file = tempDb();
    const store = new SqliteStore(file);
    const register = store.register(komrade('alice'));
    // A read in the same turn sees the write at once; another connection sees it once durable.
    const found = await store.lookup('alice');
    expect(found).toBeDefined();
    const outside = new Database(file, { readonly: true });
    try {
      expect(outside.prepare('SELECT COUNT(*) AS n FROM komrades').get()).toEqual({ n: 0 });
    } finally {
      outside.close();
    }
    await store.durable();
    const other = new Database(file, { readonly: true });
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(other.pragma('user_version', { simple: true })).toBe(2);
      expect(other.prepare('SELECT COUNT(*) AS n FROM komrades').get()).toEqual({ n: 1 });
    } finally {
      other.close();
    }
    await register;
    await store.close();
  });

  it('keeps each key holder, and migrates a version-1 file with its komrades held by self', async () => {
    const file = tempDb();
    const store = new SqliteStore(file);
    await store.register({ ...komrade('tess'), keyHolder: 'telegram' });
    await store.register(komrade('alice'));
    expect((await store.lookup('tess'))?.keyHolder).toBe('telegram');
    await store.close();
    const db = new Database(file);
    db.exec(`
      ALTER TABLE komrades DROP COLUMN key_holder;
      PRAGMA user_version = 1;
    `);
    db.close();
    const migrated = new SqliteStore(file);
    expect((await migrated.lookup('tess'))?.keyHolder).toBe('self');
    expect((await migrated.lookup('alice'))?.keyHolder).toBe('self');
    await migrated.register({ ...komrade('dina'), keyHolder: 'discord' });
    expect((await migrated.lookup('dina'))?.keyHolder).toBe('discord');
    await migrated.close();
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(2);
      expect(() =>
        check.prepare("SELECT 1 FROM komrades WHERE key_holder = 'matrix'").all(),
      ).not.toThrow();
    } finally {
      check.close();
    }
  });

  it('groups one turn’s writes: a failing step leaves the others committed', async () => {
    const file = tempDb();
    const store = new SqliteStore(file);
    const results = await Promise.allSettled([
      store.register(komrade('alice')),
      store.register(komrade('alice')),
      store.register(komrade('bob')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await store.close();
    const reopened = new SqliteStore(file);
    expect(await reopened.lookup('alice')).toBeDefined();
    expect(await reopened.lookup('bob')).toBeDefined();
    await reopened.close();
  });

  it('leaves no trace of an acked letter’s ciphertext in the .db or -wal files', async () => {
    const file = tempDb();
    const store = new SqliteStore(file);
    await store.register(komrade('bob'));
    const marker = Buffer.from('KOMRADE-SECRET-MARKER-0123456789');
    // A small letter (in-page) and a large one (overflow pages) both carry the marker.
    const small = Buffer.concat([marker, randomBytes(100)]);
    const large = Buffer.concat([randomBytes(5_000), marker, randomBytes(40_000), marker]);
    const ids = await store.deposit(
      [
        { to: 'bob', sealed: small },
        { to: 'bob', sealed: large },
      ],
      { receivedAt: NOW, expiresAt: NOW + 1_000_000, quota: 10 },
    );
    await store.durable();
    const dir = join(file, '..');
    const filesContaining = () =>
      readdirSync(dir)
        .filter((name) => name.startsWith('operator.db'))
        .filter((name) => readFileSync(join(dir, name)).includes(marker));
    expect(filesContaining().length).toBeGreaterThan(0);

    expect(await store.ack('bob', ids)).toBe(2);
    await store.durable();
    // The row is gone at commit; stale WAL copies are overwritten by the next scrub (≤ 200 ms).
    await store.scrubbed();
    expect(filesContaining()).toEqual([]);
    await store.close();
    expect(filesContaining()).toEqual([]);
  });

  it('leaves no trace of swept letters either', async () => {
    const file = tempDb();
    const store = new SqliteStore(file);
    await store.register(komrade('bob'));
    const marker = Buffer.from('KOMRADE-EXPIRED-MARKER-987654321');
    await store.deposit([{ to: 'bob', sealed: Buffer.concat([marker, randomBytes(64)]) }], {
      receivedAt: NOW,
      expiresAt: NOW + 10,
      quota: 10,
    });
    expect(await store.sweepExpiredLetters(NOW + 10)).toBe(1);
    await store.durable();
    await store.scrubbed();
    const dir = join(file, '..');
    for (const name of readdirSync(dir).filter((n) => n.startsWith('operator.db'))) {
      expect(readFileSync(join(dir, name)).includes(marker)).toBe(false);
    }
    await store.close();
  });
});
