/** The SQLite store: the port contracts on real temp files, plus durability and secure deletion. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../common/crypto/index.js';
import {
  MemoryMerkleTree,
  leafHash,
  rootHash,
  verifyInclusion,
} from '../../common/transparency/index.js';
import { receiptLeaf } from '../../common/wire/index.js';
import { SqliteStore } from '../../operator/index.js';
import { MIGRATIONS } from '../../operator/store/sqlite/migrations.js';
import { describeStoreContract, komrade, type SharedBodies } from './store-contract.js';

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;
const temps: string[] = [];

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-sqlite-'));
  temps.push(dir);
  return join(dir, 'operator.db');
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Counts shared bodies in the committed file, from a second, read-only connection. */
function sharedBodiesIn(file: string): SharedBodies {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare(
        'SELECT COUNT(*) AS count, COALESCE(SUM(LENGTH(sealed)), 0) AS bytes FROM letter_bodies',
      )
      .get() as SharedBodies;
  } finally {
    db.close();
  }
}

/** The database's files (the .db, its -wal and -shm) whose bytes contain `marker`. */
function filesContaining(file: string, marker: Buffer): string[] {
  const dir = join(file, '..');
  return readdirSync(dir)
    .filter((name) => name.startsWith('operator.db'))
    .filter((name) => readFileSync(join(dir, name)).includes(marker));
}

/** Deposits `body` once for `recipients`, their envelopes the bytes 1, 2, … in that order. */
function depositSharedFor(
  store: SqliteStore,
  recipients: readonly string[],
  body: Uint8Array,
  expiresAt: number,
) {
  return store.depositShared(
    { body, envelopes: recipients.map((to, i) => ({ to, sealed: Uint8Array.of(i + 1) })) },
    { receivedAt: NOW, expiresAt, quota: 10 },
  );
}

describeStoreContract('SqliteStore', () => {
  const file = tempDb();
  const store = new SqliteStore(file);
  return Promise.resolve({
    store,
    sharedBodies: () => Promise.resolve(sharedBodiesIn(file)),
    dispose: () => store.close(),
  });
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

  it('keeps collectives, their logs and shared letters across close and reopen', async () => {
    const file = tempDb();
    const first = new SqliteStore(file);
    await first.register(komrade('alice'));
    await first.register(komrade('bob'));
    const genesis = { signed: randomBytes(50), sig: randomBytes(64) };
    const next = { signed: randomBytes(60), sig: randomBytes(64) };
    await first.createCollective({ name: 'portland', genesis, createdAt: NOW });
    await first.appendCollectiveEvent('portland', 1, next);
    const body = randomBytes(500);
    await depositSharedFor(first, ['alice', 'bob'], body, NOW + 1_000);
    await first.close();

    const second = new SqliteStore(file);
    expect(await second.isCollective('portland')).toBe(true);
    const events = await second.collectiveEvents('portland', 0, 10);
    expect(events.map((e) => Buffer.from(e.signed).toString('hex'))).toEqual(
      [genesis.signed, next.signed].map((b) => Buffer.from(b).toString('hex')),
    );
    expect(
      (await second.appendCollectiveEvent('portland', 1, next).catch((e: unknown) => e)) as {
        code?: string;
      },
    ).toMatchObject({ code: 'COLLECTIVE_CONFLICT' });
    const [letter] = (await second.fetch('bob', 10, NOW)).letters;
    expect(Buffer.from(letter!.body!).equals(Buffer.from(body))).toBe(true);
    expect(letter!.sealed).toEqual(Uint8Array.of(2));
    await second.close();
  });

  it('refuses, in the database itself, to rewrite or delete a collective event', async () => {
    const file = tempDb();
    const store = new SqliteStore(file);
    await store.createCollective({
      name: 'portland',
      genesis: { signed: randomBytes(10), sig: randomBytes(64) },
      createdAt: NOW,
    });
    await store.close();
    const db = new Database(file);
    try {
      expect(() => db.exec("UPDATE collective_events SET sig = x'00'")).toThrow(/append-only/);
      expect(() => db.exec('DELETE FROM collective_events')).toThrow(/append-only/);
      expect(() =>
        db.exec(
          "INSERT INTO komrades (name, sign_key, box_key, registered_at, sig) VALUES ('portland', x'01', x'02', 0, x'03')",
        ),
      ).toThrow(/collective/);
      expect(db.prepare('SELECT COUNT(*) AS n FROM collective_events').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
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
      expect(other.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(other.prepare('SELECT COUNT(*) AS n FROM komrades').get()).toEqual({ n: 1 });
    } finally {
      other.close();
    }
    await register;
    await store.close();
  });

  it('keeps each key holder, and migrates a version-1 file with its komrades held by self', async () => {
    const fresh = new SqliteStore(tempDb());
    await fresh.register({ ...komrade('tess'), keyHolder: 'telegram' });
    expect((await fresh.lookup('tess'))?.keyHolder).toBe('telegram');
    await fresh.close();
    // A file as the first release left it: schema 1, komrades without a key holder, a letter.
    const file = tempDb();
    const db = new Database(file);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    const insert = db.prepare(
      'INSERT INTO komrades (name, sign_key, box_key, registered_at, sig) VALUES (?, ?, ?, ?, ?)',
    );
    for (const k of [komrade('tess'), komrade('alice')]) {
      insert.run(k.name, k.signKey, k.boxKey, k.registeredAt, k.sig);
    }
    db.prepare(
      'INSERT INTO letters (id, recipient, sealed, received_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    ).run(randomBytes(16), 'alice', Uint8Array.of(5), NOW, NOW + 1_000);
    db.close();
    const migrated = new SqliteStore(file);
    expect((await migrated.lookup('tess'))?.keyHolder).toBe('self');
    expect((await migrated.lookup('alice'))?.keyHolder).toBe('self');
    await migrated.register({ ...komrade('dina'), keyHolder: 'discord' });
    expect((await migrated.lookup('dina'))?.keyHolder).toBe('discord');
    const [old] = (await migrated.fetch('alice', 10, NOW)).letters;
    expect(old?.sealed).toEqual(Uint8Array.of(5));
    expect(old && 'body' in old).toBe(false);
    await migrated.close();
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(() =>
        check.prepare("SELECT 1 FROM komrades WHERE key_holder = 'matrix'").all(),
      ).not.toThrow();
    } finally {
      check.close();
    }
  });

  it('migrates a version-5 file: names survive, letter times are rounded, token tables appear', async () => {
    const file = tempDb();
    const db = new Database(file);
    for (const sql of MIGRATIONS.slice(0, 5)) {
      db.function('name_skeleton', { deterministic: true }, (name: unknown) => name);
      db.exec(sql);
    }
    db.pragma('user_version = 5');
    const insert = db.prepare(
      'INSERT INTO komrades (name, sign_key, box_key, registered_at, sig, key_holder, skeleton) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const alice = komrade('alice');
    for (const k of [alice, { ...komrade('tess'), keyHolder: 'telegram' as const }]) {
      insert.run(k.name, k.signKey, k.boxKey, k.registeredAt, k.sig, k.keyHolder, k.name);
    }
    db.prepare(
      'INSERT INTO letters (id, recipient, sealed, received_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    ).run(randomBytes(16), 'alice', Uint8Array.of(5), NOW + 654_321, NOW + DAY);
    db.close();

    const migrated = new SqliteStore(file);
    // Registered before ratchet keys: none, until the komrade adds one.
    expect(await migrated.lookup('alice')).toEqual({ ...alice, ratchetKey: null });
    expect((await migrated.lookup('tess'))?.keyHolder).toBe('telegram');
    const [old] = (await migrated.fetch('alice', 10, NOW)).letters;
    expect(old?.receivedAt).toBe(NOW + 600_000);
    expect(await migrated.recordIssued('alice', 5, 1, 10)).toBe(9);
    await migrated.close();
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const tables = check
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      expect(tables).toEqual(expect.arrayContaining(['spent_tokens', 'token_allowances']));
    } finally {
      check.close();
    }
  });

  it('migrates a version-6 file: komrades keep their receipts, without a ratchet key, and prekey tables appear', async () => {
    const file = tempDb();
    const db = new Database(file);
    for (const sql of MIGRATIONS.slice(0, 6)) {
      db.function('name_skeleton', { deterministic: true }, (name: unknown) => name);
      db.exec(sql);
    }
    db.pragma('user_version = 6');
    const alice = { ...komrade('alice'), ratchetKey: null };
    db.prepare(
      'INSERT INTO komrades (name, sign_key, box_key, registered_at, sig, key_holder, skeleton) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(alice.name, alice.signKey, alice.boxKey, alice.registeredAt, alice.sig, 'self', 'alice');
    const spent = randomBytes(32);
    db.prepare(
      'INSERT INTO spent_tokens (epoch, input_hash, letter_hash, letter) VALUES (?, ?, ?, ?)',
    ).run(1, spent, randomBytes(32), randomBytes(16));
    db.close();

    const migrated = new SqliteStore(file);
    expect(await migrated.lookup('alice')).toEqual(alice);
    expect(await migrated.storePrekeys('alice', {}, 10)).toEqual({
      oneTimeLeft: 0,
      signedPrekey: false,
      kyberPrekey: false,
    });
    const key = Uint8Array.of(0x05, ...randomBytes(32));
    const sig = randomBytes(64);
    expect(await migrated.setRatchetKey('alice', key, sig)).toEqual({
      ...alice,
      ratchetKey: key,
      sig,
    });
    await migrated.close();
    const check = new Database(file);
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const tables = check
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      expect(tables).toEqual(
        expect.arrayContaining([
          'signed_prekeys',
          'kyber_prekeys',
          'one_time_prekeys',
          'prekey_handouts',
        ]),
      );
      expect(check.prepare('SELECT COUNT(*) FROM spent_tokens').pluck().get()).toBe(1);
      // The column holds a libsignal key's shape or nothing, whatever code writes it.
      const update = check.prepare('UPDATE komrades SET ratchet_key = ? WHERE name = ?');
      expect(() => update.run(new Uint8Array(33), 'alice')).toThrow(/CHECK/);
      expect(() => update.run(Uint8Array.of(0x05, 1), 'alice')).toThrow(/CHECK/);
    } finally {
      check.close();
    }
  });

  it('migrates a version-7 file: every registration becomes a leaf, in registration order', async () => {
    const file = tempDb();
    const db = new Database(file);
    db.function('name_skeleton', { deterministic: true }, (name: unknown) => name);
    for (const sql of MIGRATIONS.slice(0, 7)) db.exec(sql);
    db.pragma('user_version = 7');
    // Inserted out of time order; two share a time (insertion order breaks the tie).
    const rows = [
      { ...komrade('carol'), registeredAt: 3_000 },
      { ...komrade('alice'), registeredAt: 1_000, ratchetKey: null },
      { ...komrade('dave'), registeredAt: 2_000 },
      { ...komrade('bob'), registeredAt: 2_000 },
    ];
    const insert = db.prepare(
      'INSERT INTO komrades (name, sign_key, box_key, registered_at, sig, key_holder, skeleton, ratchet_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (const k of rows) {
      insert.run(k.name, k.signKey, k.boxKey, k.registeredAt, k.sig, 'self', k.name, k.ratchetKey);
    }
    db.close();

    const migrated = new SqliteStore(file);
    const head = await migrated.logHead();
    expect(head.size).toBe(4);
    const entries = await migrated.logEntries(0, 4);
    expect(entries.map((e) => e.name)).toEqual(['alice', 'dave', 'bob', 'carol']);
    const tree = new MemoryMerkleTree();
    for (const name of ['alice', 'dave', 'bob', 'carol']) {
      const stored = rows.find((k) => k.name === name)!;
      expect(await migrated.lookup(name)).toEqual(stored);
      tree.append(leafHash(receiptLeaf(stored)));
    }
    expect(Buffer.from(head.rootHash).equals(rootHash(tree))).toBe(true);
    // The Operator goes on: a new name and alice's ratchet key are the next two leaves.
    await migrated.register(komrade('erin'));
    const key = Uint8Array.of(0x05, ...randomBytes(32));
    await migrated.setRatchetKey('alice', key, randomBytes(64));
    await migrated.close();

    const reopened = new SqliteStore(file);
    const after = await reopened.logHead();
    expect(after.size).toBe(6);
    expect((await reopened.logEntries(4, 6)).map((e) => e.name)).toEqual(['erin', 'alice']);
    const { proofs } = await reopened.logInclusions(['alice']);
    const alice = proofs.get('alice')!;
    expect(alice.index).toBe(5);
    const leaf = leafHash(receiptLeaf(alice.entry));
    expect(verifyInclusion(leaf, 5, 6, alice.hashes, after.rootHash)).toBe(true);
    await reopened.close();
    const check = new Database(file);
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      // Append-only and gapless in the database itself, whatever code writes to it.
      expect(() => check.prepare('DELETE FROM registry_log WHERE idx = 5').run()).toThrow(
        /append-only/,
      );
      expect(() => check.prepare("UPDATE registry_log SET name = 'x' WHERE idx = 0").run()).toThrow(
        /append-only/,
      );
      expect(() => check.prepare('DELETE FROM registry_log_nodes').run()).toThrow(/append-only/);
      const gap = check.prepare(
        "INSERT INTO registry_log (idx, name, sign_key, box_key, key_holder, registered_at, sig, leaf_hash) VALUES (?, 'erin', x'00', x'00', 'self', 0, x'00', zeroblob(32))",
      );
      expect(() => gap.run(7)).toThrow(/gapless/);
      expect(() => gap.run(3)).toThrow(/gapless|UNIQUE/);
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
    expect(filesContaining(file, marker).length).toBeGreaterThan(0);

    expect(await store.ack('bob', ids)).toBe(2);
    await store.durable();
    // The row is gone at commit; the turn settles only after the WAL scrub that removes stale copies.
    await store.scrubbed();
    expect(filesContaining(file, marker)).toEqual([]);
    await store.close();
    expect(filesContaining(file, marker)).toEqual([]);
  });

  it('leaves no trace of a shared body once its last recipient acked', async () => {
    const file = tempDb();
    const store = new SqliteStore(file);
    await store.register(komrade('ann'));
    await store.register(komrade('ben'));
    const marker = Buffer.from('KOMRADE-SHARED-BODY-MARKER-24680');
    const body = Buffer.concat([randomBytes(3_000), marker, randomBytes(10_000)]);
    await depositSharedFor(store, ['ann', 'ben'], body, NOW + 1_000_000);
    await store.durable();
    const idOf = async (name: string) => (await store.fetch(name, 1, NOW)).letters[0]!.id;
    expect(await store.ack('ann', [await idOf('ann')])).toBe(1);
    await store.durable();
    await store.scrubbed();
    // Ben has not fetched it yet: the body stays.
    expect(filesContaining(file, marker).length).toBeGreaterThan(0);
    expect(await store.ack('ben', [await idOf('ben')])).toBe(1);
    await store.durable();
    await store.scrubbed();
    expect(filesContaining(file, marker)).toEqual([]);
    expect(sharedBodiesIn(file)).toEqual({ count: 0, bytes: 0 });
    await store.close();
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
