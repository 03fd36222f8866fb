/**
 * The bridge store's durable outbox and handled platform events (real SQLite files): rows and the
 * event that produced them are written together or not at all, a re-delivered event writes
 * nothing, results are sealed at rest, old stores gain the tables on open, and a re-sent copy of a
 * letter already shown leaves nothing to acknowledge in the ledger.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteBridgeStore, deriveBridgeKeys } from '../../bridge/index.js';
import { generateIdentityKeys, randomBytes as sodiumRandom } from '../../common/crypto/index.js';

let dir: string;
let path: string;
const keys = deriveBridgeKeys(randomBytes(32).toString('hex'));
let now = 1_000;
const clock = () => now;

const ANN = 'AAAAAAAAAAAAAAAAAAAAAA';
const BEN = 'BBBBBBBBBBBBBBBBBBBBBB';

function openStore(): SqliteBridgeStore {
  return new SqliteBridgeStore(path, keys, clock);
}

function withIdentities(store: SqliteBridgeStore): SqliteBridgeStore {
  for (const [id, user] of [
    [ANN, 'telegram:1'],
    [BEN, 'telegram:2'],
  ] as const) {
    store.createIdentity(user, {
      id,
      keys: generateIdentityKeys(),
      storageKey: sodiumRandom(32),
      chat: user,
    });
  }
  return store;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'komrade-vault-outbox-'));
  path = join(dir, 'bridge.db');
  now = 1_000;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the durable outbox', () => {
  it('keeps rows across a reopen, oldest first, until each is deleted', () => {
    let store = withIdentities(openStore());
    const first = store.addOutbox([{ identity: ANN, kind: 'letter', envelope: 'env-1' }]);
    now = 2_000;
    const second = store.addOutbox([
      { identity: BEN, kind: 'collective', envelope: 'env-2' },
      { identity: ANN, kind: 'letter', envelope: 'env-3' },
    ]);
    expect(first.added && second.added).toBe(true);
    if (!first.added || !second.added) return;
    expect(first.rows[0]?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    store.close();
    // A crash here: the process starts again on the same file.
    store = openStore();
    try {
      expect(store.outboxRows().map((r) => r.envelope)).toEqual(['env-1', 'env-2', 'env-3']);
      expect(store.outboxRows(ANN).map((r) => r.envelope)).toEqual(['env-1', 'env-3']);
      const id = second.rows[0]?.id ?? '';
      expect(store.outboxRow(id)).toEqual({
        id,
        identity: BEN,
        kind: 'collective',
        envelope: 'env-2',
        event: null,
        createdAt: 2_000,
      });
      store.updateOutboxEnvelope(id, 'env-2-resealed');
      expect(store.outboxRow(id)?.envelope).toBe('env-2-resealed');
      store.deleteOutbox(id);
      expect(store.outboxRow(id)).toBeUndefined();
      expect(store.outboxRows()).toHaveLength(2);
      // Forgetting an identity forgets what it still had to send.
      store.deleteIdentity(ANN);
      expect(store.outboxRows()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('writes the rows and their event together; a re-delivered event writes nothing and answers as before', () => {
    const store = withIdentities(openStore());
    try {
      const event = 'telegram:7:1001';
      const result = JSON.stringify({ id: 'letter-id', to: 'ben' });
      const first = store.addOutbox([{ identity: ANN, kind: 'letter', envelope: 'env' }], {
        event,
        result,
      });
      expect(first.added).toBe(true);
      expect(store.outboxRows()[0]?.event).toBe(event);
      const again = store.addOutbox([{ identity: ANN, kind: 'letter', envelope: 'env-again' }], {
        event,
        result: 'other',
      });
      expect(again).toEqual({
        added: false,
        handled: { event, result, answered: false, at: 1_000 },
      });
      expect(store.outboxRows().map((r) => r.envelope)).toEqual(['env']);
      store.markEventAnswered(event);
      expect(store.handledEvent(event)?.answered).toBe(true);
    } finally {
      store.close();
    }
  });

  it('writes neither the rows nor the event when one row cannot be written', () => {
    const store = withIdentities(openStore());
    try {
      expect(() =>
        store.addOutbox(
          [
            { identity: ANN, kind: 'letter', envelope: 'env' },
            // No such identity: the foreign key refuses it, and the whole write is undone.
            { identity: 'CCCCCCCCCCCCCCCCCCCCCC', kind: 'letter', envelope: 'env' },
          ],
          { event: 'discord:1', result: '{}' },
        ),
      ).toThrow();
      expect(store.outboxRows()).toEqual([]);
      expect(store.handledEvent('discord:1')).toBeUndefined();
    } finally {
      store.close();
    }
  });
});

describe('handled events', () => {
  it('records an event once, seals its result at rest, and prunes old ones', () => {
    const store = openStore();
    try {
      expect(store.handledEvent('discord:9')).toBeUndefined();
      expect(store.recordEvent('discord:9', '{"to":"secret_name"}')).toBe(true);
      expect(store.recordEvent('discord:9', '{"to":"other"}')).toBe(false);
      expect(store.handledEvent('discord:9')?.result).toBe('{"to":"secret_name"}');
      now = 5_000;
      store.recordEvent('discord:10', '{}');
      const raw = new Database(path, { readonly: true });
      const rows = raw.prepare('SELECT result FROM handled_events').all() as {
        result: Uint8Array;
      }[];
      raw.close();
      for (const row of rows) {
        expect(Buffer.from(row.result).includes(Buffer.from('secret_name'))).toBe(false);
      }
      expect(store.pruneEvents(5_000)).toBe(1);
      expect(store.handledEvent('discord:9')).toBeUndefined();
      expect(store.handledEvent('discord:10')).toBeDefined();
    } finally {
      store.close();
    }
  });

  it('refuses a result sealed for another event (a row moved by hand)', () => {
    const store = openStore();
    store.recordEvent('telegram:1', '{}');
    store.close();
    const raw = new Database(path);
    raw.prepare("UPDATE handled_events SET event = 'telegram:2'").run();
    raw.close();
    const reopened = openStore();
    try {
      expect(() => reopened.handledEvent('telegram:2')).toThrow(
        expect.objectContaining({ code: 'KEYSTORE_CORRUPT' }),
      );
    } finally {
      reopened.close();
    }
  });
});

describe('opening an older store', () => {
  it('adds the outbox and event tables to a store made before them, keeping its ledger', () => {
    const old = new Database(path);
    old.exec(`
      CREATE TABLE identities (id TEXT PRIMARY KEY, lookup BLOB NOT NULL UNIQUE,
        sealed BLOB NOT NULL, name TEXT UNIQUE, created_at INTEGER NOT NULL) STRICT;
      CREATE TABLE deliveries (id TEXT PRIMARY KEY,
        identity TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
        sender TEXT NOT NULL, letter_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered')),
        operator_ids TEXT NOT NULL, surface_ref TEXT, created_at INTEGER NOT NULL,
        collective TEXT, content BLOB,
        UNIQUE (identity, sender, letter_id)) STRICT;
      INSERT INTO identities VALUES ('${ANN}', x'01', x'02', 'old', 1);
      INSERT INTO deliveries VALUES ('DDDDDDDDDDDDDDDDDDDDDD', '${ANN}', 'ann',
        'letter1', 'pending', '["op1"]', NULL, 1, NULL, NULL);
    `);
    old.close();
    const store = openStore();
    try {
      expect(store.pendingDeliveries()).toHaveLength(1);
      expect(store.addOutbox([{ identity: ANN, kind: 'letter', envelope: 'e' }]).added).toBe(true);
      expect(store.recordEvent('telegram:1', '{}')).toBe(true);
    } finally {
      store.close();
    }
  });
});

describe('the delivery ledger', () => {
  it('a re-sent copy of a letter already shown leaves no Operator id behind to acknowledge', () => {
    const store = withIdentities(openStore());
    try {
      const first = store.recordFetched(BEN, 'ann', 'letter-1', 'op-1');
      store.markDelivered(first.id, 'msg-1');
      store.markAcked(first.id, ['op-1']);
      // The sender's bot crashed after the Operator accepted it and sent it again: a second copy.
      const copy = store.recordFetched(BEN, 'ann', 'letter-1', 'op-2');
      expect(copy.state).toBe('delivered');
      // The caller acknowledges the copy at once; the ledger keeps nothing of it.
      expect(store.delivery(first.id)?.operatorIds).toEqual([]);
      // A copy fetched while the letter is still pending is kept, to acknowledge after showing.
      const pending = store.recordFetched(BEN, 'ann', 'letter-2', 'op-3');
      store.recordFetched(BEN, 'ann', 'letter-2', 'op-4');
      expect(store.delivery(pending.id)?.operatorIds).toEqual(['op-3', 'op-4']);
    } finally {
      store.close();
    }
  });
});
