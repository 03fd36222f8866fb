/** SqliteLocalStore: pinning, receipts, contacts, and letters encrypted at rest with dedupe. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteLocalStore, type StoredLetter } from '../../client/index.js';
import { MIGRATIONS } from '../../client/local-store/migrations.js';
import { randomBytes } from '../../common/crypto/index.js';
import type { Receipt } from '../../common/wire/index.js';

let dir: string;
let path: string;
let key: Uint8Array;
let store: SqliteLocalStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-store-'));
  path = join(dir, 'komrade.db');
  key = randomBytes(32);
  store = new SqliteLocalStore(path, { storageKey: key });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const receipt = (name: string): Receipt => ({
  name,
  signKey: randomBytes(32),
  boxKey: randomBytes(32),
  keyHolder: 'self',
  ratchetKey: null,
  registeredAt: 1_700_000_000_000,
  sig: randomBytes(64),
});

const letter = (from: string, body: string, id = randomBytes(16)): StoredLetter => ({
  letter: { v: 2, kind: 'text', from, to: 'bob', sentAt: 1_700_000_000_000, id, body },
  folder: 'request',
  receivedAt: 1_700_000_000_500,
});

describe('SqliteLocalStore', () => {
  it('creates a private file and keeps settings across reopen', () => {
    expect(statSync(path).mode & 0o777).toBe(0o600);
    store.setOperatorUrl('http://127.0.0.1:1');
    const pin = { signKey: randomBytes(32), feedKey: randomBytes(32) };
    store.pinOperator(pin);
    store.saveOwnReceipt(receipt('alice'));
    store.close();
    store = new SqliteLocalStore(path, { storageKey: key });
    expect(store.operatorUrl()).toBe('http://127.0.0.1:1');
    expect(store.pinnedOperator()).toEqual(pin);
    expect(store.ownReceipt()?.name).toBe('alice');
  });

  it('caches receipts and tracks contact state', () => {
    const bob = receipt('bob');
    store.cacheReceipt(bob);
    expect(store.cachedReceipt('bob')).toEqual(bob);
    expect(store.cachedReceipt('carol')).toBeUndefined();
    expect(store.contactState('bob')).toBeUndefined();
    store.setContactState('bob', 'accepted', 1);
    store.setContactState('bob', 'blocked', 2);
    expect(store.contactState('bob')).toBe('blocked');
  });

  it('stores letters encrypted, dedupes by sender and id, moves and deletes', () => {
    const first = letter('alice', 'the secret meeting is at noon');
    const added = store.saveLetters([first, letter('alice', 'second'), first]);
    expect(added).toHaveLength(2);
    expect(store.saveLetters([first])).toHaveLength(0);
    expect(store.letters('request').map((l) => l.letter.body)).toEqual([
      'the secret meeting is at noon',
      'second',
    ]);
    expect(store.letters('request', 'carol')).toEqual([]);
    // Neither the database nor its write-ahead log holds the text in the clear.
    for (const suffix of ['', '-wal']) {
      const raw = readFileSync(path + suffix);
      expect(raw.length).toBeGreaterThan(0);
      expect(raw.includes(Buffer.from('secret meeting'))).toBe(false);
    }
    store.close();
    store = new SqliteLocalStore(path, { storageKey: key });
    expect(store.moveLetters('alice', 'request', 'inbox')).toBe(2);
    expect(store.letters('inbox')).toHaveLength(2);
    expect(store.deleteLetters('alice', 'inbox')).toBe(2);
    expect(store.letters('inbox')).toHaveLength(0);
  });

  it('refuses letters under another storage key or swapped between rows', () => {
    store.saveLetters([letter('alice', 'one'), letter('mallory', 'two')]);
    store.close();
    store = new SqliteLocalStore(path, { storageKey: randomBytes(32) });
    expect(() => store.letters('request')).toThrow(
      expect.objectContaining({ code: 'DECODE_FAILED' }) as Error,
    );
    store.close();
    // Swap the ciphertexts of two rows: each is bound to its own sender and id.
    const db = new Database(path);
    const rows = db.prepare('SELECT rowid, sealed FROM letters ORDER BY rowid').all() as {
      rowid: number;
      sealed: Buffer;
    }[];
    db.prepare('UPDATE letters SET sealed = ? WHERE rowid = ?').run(
      rows[1]!.sealed,
      rows[0]!.rowid,
    );
    db.close();
    store = new SqliteLocalStore(path, { storageKey: key });
    expect(() => store.letters('request', 'alice')).toThrow(
      expect.objectContaining({ code: 'DECODE_FAILED' }) as Error,
    );
    expect(store.letters('request', 'mallory')[0]?.letter.body).toBe('two');
  });
});

describe('followers and following (migration 2)', () => {
  it('keeps both lists, idempotently, and survives a reopen', () => {
    expect(store.addFollower('ann', 1)).toBe(true);
    expect(store.addFollower('ann', 2)).toBe(false);
    expect(store.addFollower('cat', 3)).toBe(true);
    expect(store.addFollowing('ben', 4)).toBe(true);
    expect(store.removeFollower('cat')).toBe(true);
    expect(store.removeFollower('cat')).toBe(false);
    store.close();
    store = new SqliteLocalStore(path, { storageKey: key });
    expect(store.followers()).toEqual(['ann']);
    expect(store.following()).toEqual(['ben']);
    expect(store.removeFollowing('ben')).toBe(true);
    expect(store.following()).toEqual([]);
  });

  it('migrates a version-1 store, keeping what it held', () => {
    store.setContactState('bob', 'accepted', 1);
    store.close();
    const db = new Database(path);
    db.exec(DROP_COLLECTIVES);
    db.exec('DROP TABLE followers; DROP TABLE following;');
    db.exec('ALTER TABLE receipts DROP COLUMN key_holder');
    db.pragma('user_version = 1');
    db.close();
    store = new SqliteLocalStore(path, { storageKey: key });
    expect(store.contactState('bob')).toBe('accepted');
    expect(store.addFollower('ann', 1)).toBe(true);
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    check.close();
  });
});

// What migrations 4 to 7 added, so a test can wind a store back to an earlier version. Migration
// 7's (forward secrecy) is read from its own SQL, so a table added to it is dropped too.
const DROP_RATCHET = [
  ...[...(MIGRATIONS[6] ?? '').matchAll(/ALTER TABLE (\w+) ADD COLUMN (\w+)/g)].map(
    ([, table, column]) => `ALTER TABLE ${table} DROP COLUMN ${column};`,
  ),
  ...[...(MIGRATIONS[6] ?? '').matchAll(/CREATE TABLE (\w+)/g)].map(
    ([, table]) => `DROP TABLE ${table};`,
  ),
].join(' ');
const DROP_PROCESSED =
  DROP_RATCHET + 'DROP TABLE tokens; DROP TABLE processed_letters; DROP TABLE follow_statements;';
const DROP_COLLECTIVES =
  DROP_PROCESSED +
  'DROP TABLE collective_messages; DROP TABLE collective_events; DROP TABLE collectives;';

describe('key holders in cached receipts (migration 3)', () => {
  it("keeps each receipt's holder, and treats receipts cached before it as not cached", () => {
    store.cacheReceipt({ ...receipt('tess'), keyHolder: 'telegram' });
    store.saveOwnReceipt({ ...receipt('alice'), keyHolder: 'discord' });
    expect(store.cachedReceipt('tess')?.keyHolder).toBe('telegram');
    expect(store.ownReceipt()?.keyHolder).toBe('discord');
    store.cacheReceipt(receipt('bob'));
    store.close();
    const db = new Database(path);
    db.exec(DROP_COLLECTIVES);
    db.exec('ALTER TABLE receipts DROP COLUMN key_holder');
    db.pragma('user_version = 2');
    db.close();
    store = new SqliteLocalStore(path, { storageKey: key });
    // Signed before the holder was part of the receipt: the client must fetch it again.
    expect(store.cachedReceipt('bob')).toBeUndefined();
    store.cacheReceipt(receipt('bob'));
    expect(store.cachedReceipt('bob')?.keyHolder).toBe('self');
  });
});

describe('processed letters and follow statements (migration 5)', () => {
  const id = (byte: number) => new Uint8Array(16).fill(byte);
  const follow = (follows: boolean, sentAt: number, letterId: Uint8Array | null = id(sentAt)) => ({
    from: 'ann',
    follows,
    sentAt,
    id: letterId,
  });

  it('applies only the newest statement per komrade, by sentAt then letter id', () => {
    expect(store.applyFollowStatement(follow(true, 10), 1)).toBe('added');
    expect(store.applyFollowStatement(follow(false, 20), 2)).toBe('removed');
    // Older, never seen before: it must not undo the unfollow.
    expect(store.applyFollowStatement(follow(true, 15), 3)).toBe('stale');
    expect(store.followers()).toEqual([]);
    // Same time: the larger letter id wins.
    expect(store.applyFollowStatement(follow(true, 20, id(1)), 4)).toBe('stale');
    expect(store.applyFollowStatement(follow(true, 20, id(200)), 5)).toBe('added');
    expect(store.followers()).toEqual(['ann']);
    // A local decision (a block) at a later time ends it; a letter id delivered again is a duplicate.
    expect(store.applyFollowStatement(follow(false, 30, null), 6)).toBe('removed');
    expect(store.applyFollowStatement(follow(true, 20, id(200)), 7)).toBe('duplicate');
    expect(store.applyFollowStatement(follow(false, 40), 8)).toBe('unchanged');
    // Other komrades are independent.
    expect(store.applyFollowStatement({ ...follow(true, 1), from: 'ben' }, 9)).toBe('added');
    expect(store.followers()).toEqual(['ben']);
  });

  it('remembers processed ids across reopen, skips them when saving, and prunes old ones', () => {
    const old = letter('ann', 'old');
    expect(store.saveLetters([old])).toHaveLength(1);
    expect(store.wasProcessed('ann', old.letter.id)).toBe(true);
    // Another sender may use the same id: ids are per sender.
    expect(store.wasProcessed('ben', old.letter.id)).toBe(false);
    expect(store.deleteLetters('ann', 'request')).toBe(1);
    expect(store.saveLetters([old])).toEqual([]);
    expect(store.markProcessed('ann', id(9), 2_000_000_000_000)).toBe(true);
    expect(store.markProcessed('ann', id(9), 2_000_000_000_000)).toBe(false);
    store.close();
    store = new SqliteLocalStore(path, { storageKey: key });
    expect(store.wasProcessed('ann', old.letter.id)).toBe(true);
    // Only ids of letters sent before the bound go.
    expect(store.pruneProcessed(1_800_000_000_000)).toBe(1);
    expect(store.wasProcessed('ann', old.letter.id)).toBe(false);
    expect(store.wasProcessed('ann', id(9))).toBe(true);
  });
});

describe('anonymous tokens (migration 6)', () => {
  const token = (epoch: number) => ({ epoch, input: randomBytes(32), output: randomBytes(64) });

  it('reserves a token per letter, oldest epoch first, the same one again for the same letter', () => {
    const [old, fresh] = [token(10), token(11)];
    store.saveTokens([fresh, old]);
    expect(store.tokenCount([10, 11])).toBe(2);
    const letterA = randomBytes(32);
    const first = store.reserveToken(letterA, [11, 10])!;
    expect(first.token).toEqual(old);
    expect(store.reserveToken(letterA, [11, 10])).toEqual(first);
    expect(store.tokenCount([10, 11])).toBe(1);
    const second = store.reserveToken(randomBytes(32), [11, 10])!;
    expect(second.token).toEqual(fresh);
    expect(store.reserveToken(randomBytes(32), [11, 10])).toBeUndefined();
    store.releaseToken(second.id);
    expect(store.tokenCount([10, 11])).toBe(1);
    store.deleteToken(first.id);
    expect(store.reserveToken(letterA, [11, 10])?.token).toEqual(fresh);
  });

  it('forgets epochs no longer accepted, reservations included, and refuses altered rows', () => {
    store.saveTokens([token(10), token(10), token(12)]);
    const held = store.reserveToken(randomBytes(32), [10, 12])!;
    expect(held.token.epoch).toBe(10);
    expect(store.pruneTokens([12, 11])).toBe(2);
    expect(store.tokenCount([10, 11, 12])).toBe(1);
    store.close();
    // A row moved to another epoch no longer opens (the epoch is bound into the ciphertext).
    const db = new Database(path);
    db.exec('UPDATE tokens SET epoch = 13');
    db.close();
    store = new SqliteLocalStore(path, { storageKey: key });
    expect(() => store.reserveToken(randomBytes(32), [13])).toThrow(
      expect.objectContaining({ code: 'DECODE_FAILED' }) as Error,
    );
  });

  it('remembers what the Operator said is left, for that epoch only', () => {
    expect(store.tokensLeft(5)).toBeUndefined();
    store.setTokensLeft(5, 42);
    expect(store.tokensLeft(5)).toBe(42);
    expect(store.tokensLeft(6)).toBeUndefined();
  });
});
