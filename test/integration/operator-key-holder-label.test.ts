/**
 * The key holder is an open label of a fixed shape: a new surface's label (`matrix`) registers and
 * round-trips through the Operator, malformed labels are refused at its door, and a database
 * written by the schema of the closed list (its SQL CHECK) is migrated keeping every row.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  nameSkeleton,
  operatorInfoSchema,
  receiptResponseSchema,
  verifyReceipt,
  type OperatorInfo,
} from '../../common/wire/index.js';
import { SqliteStore } from '../../operator/index.js';
import { MIGRATIONS } from '../../operator/store/sqlite/migrations.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  registrationBody,
} from '../support/operator-test-client.js';

const POW_BITS = 4;
const temps: string[] = [];

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('at the Operator', () => {
  let started: TestOperator;
  let client: TestClient;
  let info: OperatorInfo;

  beforeAll(async () => {
    started = await startTestOperator({ powBits: POW_BITS });
    client = new TestClient(started.url);
    info = operatorInfoSchema.parse((await client.get('/v1/operator')).json);
  });

  afterAll(() => started.close());

  it('registers a new label and answers it in the receipt and the lookup', async () => {
    const max = { ...makeKomrade('mx_max'), keyHolder: 'matrix' };
    const reply = await client.register(max, POW_BITS);
    expect(reply.status).toBe(201);
    const { receipt } = receiptResponseSchema.parse(reply.json);
    expect(receipt.keyHolder).toBe('matrix');
    expect(verifyReceipt(receipt, info.signKey)).toBe(true);
    const lookup = receiptResponseSchema.parse((await client.get('/v1/komrades/mx_max')).json);
    expect(lookup.receipt.keyHolder).toBe('matrix');
    expect((await started.store.lookup('mx_max'))?.keyHolder).toBe('matrix');
  });

  it.each([
    ['uppercase', 'Matrix'],
    ['a Cyrillic look-alike', 'm\u0430trix'],
    ['too long', 'x'.repeat(25)],
    ['empty', ''],
    ['one letter', 'm'],
    ['a leading dash', '-matrix'],
  ])('refuses a label that is %s with BAD_REQUEST', async (_what, label) => {
    // Signed with a good label, then relabelled: the shape is refused before any proof is read.
    const body = await registrationBody(makeKomrade('mx_bad'), POW_BITS);
    const reply = await client.post('/v1/register', { ...body, keyHolder: label });
    expect(reply.status).toBe(400);
    expect(errorCode(reply)).toBe('BAD_REQUEST');
    expect(await started.store.lookup('mx_bad')).toBeUndefined();
  });
});

describe('a database written with the closed list of labels', () => {
  /** Writes a database as the schema before open labels left it (migrations 1–4 only). */
  function oldDatabase(): string {
    const dir = mkdtempSync(join(tmpdir(), 'komrade-label-migration-'));
    temps.push(dir);
    const file = join(dir, 'operator.db');
    const db = new Database(file);
    db.pragma('foreign_keys = ON');
    db.function('name_skeleton', { deterministic: true }, (name: unknown) =>
      typeof name === 'string' ? nameSkeleton(name) : null,
    );
    for (const [version, sql] of MIGRATIONS.slice(0, 4).entries()) {
      db.exec(sql);
      db.pragma(`user_version = ${version + 1}`);
    }
    const insert = db.prepare(
      `INSERT INTO komrades (name, sign_key, box_key, registered_at, sig, key_holder, skeleton)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const rows = [
      ['alice', 'self'],
      ['tg_tom', 'telegram'],
      ['dc_dee', 'discord'],
    ] as const;
    for (const [i, [name, holder]] of rows.entries()) {
      insert.run(
        name,
        Buffer.alloc(32, i + 1),
        Buffer.alloc(32, i + 11),
        1_000 + i,
        Buffer.alloc(64, i),
        holder,
        nameSkeleton(name),
      );
    }
    db.prepare(
      'INSERT INTO letters (id, recipient, sealed, received_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    ).run(Buffer.alloc(16, 7), 'tg_tom', Buffer.from('sealed'), 1, Date.now() + 86_400_000);
    db.prepare('INSERT INTO collectives (name, created_at, skeleton) VALUES (?, ?, ?)').run(
      'portland',
      1,
      nameSkeleton('portland'),
    );
    // The closed list, as it was: a new label is refused by the CHECK.
    expect(() =>
      insert.run(
        'mx_max',
        Buffer.alloc(32, 99),
        Buffer.alloc(32, 98),
        1,
        Buffer.alloc(64),
        'matrix',
        'mx_max',
      ),
    ).toThrow(/CHECK/);
    db.close();
    return file;
  }

  it('keeps every komrade, label and letter, and then takes a new label', async () => {
    const file = oldDatabase();
    const store = new SqliteStore(file);
    try {
      expect((await store.lookup('alice'))?.keyHolder).toBe('self');
      expect((await store.lookup('tg_tom'))?.keyHolder).toBe('telegram');
      expect((await store.lookup('dc_dee'))?.keyHolder).toBe('discord');
      expect((await store.lookup('dc_dee'))?.registeredAt).toBe(1_002);
      await store.register({
        name: 'mx_max',
        signKey: new Uint8Array(32).fill(99),
        boxKey: new Uint8Array(32).fill(98),
        keyHolder: 'matrix',
        ratchetKey: null,
        registeredAt: 5,
        sig: new Uint8Array(64),
      });
      expect((await store.lookup('mx_max'))?.keyHolder).toBe('matrix');
    } finally {
      await store.close();
    }
    const db = new Database(file);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.pragma('foreign_key_check')).toEqual([]);
      expect(db.prepare('SELECT recipient FROM letters').pluck().all()).toEqual(['tg_tom']);
      // The index and triggers came back with the table: a collective's name stays taken.
      const insert = db.prepare(
        `INSERT INTO komrades (name, sign_key, box_key, registered_at, sig, key_holder, skeleton)
         VALUES (?, ?, ?, 1, ?, 'self', ?)`,
      );
      const key = (n: number) => Buffer.alloc(32, n);
      expect(() => insert.run('portland', key(55), key(56), Buffer.alloc(64), 'x')).toThrow(
        /belongs to a collective/,
      );
      expect(() =>
        insert.run('a1ice', key(57), key(58), Buffer.alloc(64), nameSkeleton('alice')),
      ).toThrow(/looks like a taken name/);
      const collective = db.prepare(
        'INSERT INTO collectives (name, created_at, skeleton) VALUES (?, 1, ?)',
      );
      expect(() => collective.run('alice', 'unique-skeleton')).toThrow(/belongs to a komrade/);
      expect(() => collective.run('a1ice', nameSkeleton('alice'))).toThrow(/looks like a taken/);
      // The shape is still enforced below the code, as a last line.
      const relabel = db.prepare('UPDATE komrades SET key_holder = ? WHERE name = ?');
      for (const label of ['Matrix', 'm\u0430trix', 'x'.repeat(25), 'm', '-x']) {
        expect(() => relabel.run(label, 'alice'), label).toThrow(/CHECK/);
      }
      relabel.run('xmpp-2', 'alice');
    } finally {
      db.close();
    }
  });
});
