/**
 * Lost and restored sessions heal, between two real clients through a real Operator (real HTTP,
 * SQLite): when Bob's store is replaced by an older copy (a backup restored) or his sessions are
 * deleted, Alice's next letter cannot be opened; Bob's client ends the session and sends a
 * `reset` letter in a new one (Bob is told `{ lost: true }`, Alice `{ lost: false }`), and
 * Alice's following letters open. Tested at the KomradeClient level.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareRestoredStore } from '../../client/index.js';
import { openRatchetLetter, type RatchetLetter } from '../../common/wire/index.js';
import {
  ForwardSecrecyWorld,
  copySqlite,
  type FsKomrade,
} from '../support/forward-secrecy-world.js';

let world: ForwardSecrecyWorld;

beforeAll(async () => {
  world = await ForwardSecrecyWorld.start();
});

afterAll(async () => {
  await world.close();
});

async function pair(): Promise<{ alice: FsKomrade; bob: FsKomrade }> {
  const alice = await world.registered('alice');
  const bob = await world.registered('bob');
  alice.client.accept(bob.name);
  bob.client.accept(alice.name);
  return { alice, bob };
}

/** A letter each way, each read: the session takes a ratchet step each time. */
async function exchange(alice: FsKomrade, bob: FsKomrade, label: string): Promise<void> {
  await alice.client.send(bob.name, `${label}: alice`);
  expect(await bob.client.checkInbox()).toMatchObject({ received: 1, sessionResets: [] });
  await bob.client.send(alice.name, `${label}: bob`);
  expect(await alice.client.checkInbox()).toMatchObject({ received: 1, sessionResets: [] });
}

function lastFrame(from: FsKomrade, to: FsKomrade): RatchetLetter {
  const sealed = from.sentTo(to.name).at(-1);
  if (sealed === undefined) throw new Error('nothing sent');
  const outer = openRatchetLetter(sealed, to.keys);
  if (!outer.ok) throw outer.error;
  return outer.value;
}

/** Alice writes after Bob lost his state: the session heals, each side told once. */
async function expectHealing(alice: FsKomrade, bob: FsKomrade): Promise<void> {
  const sentByBob = bob.sentTo(alice.name).length;
  await alice.client.send(bob.name, 'into the lost session');
  const lost = await bob.client.checkInbox();
  expect(lost).toMatchObject({ received: 0, rejected: 1 });
  expect(lost.sessionResets).toEqual([{ name: alice.name, lost: true }]);
  expect(bob.inboxTexts()).not.toContain('into the lost session');
  // Bob's client answered with a reset letter: a first message of a new session.
  expect(bob.sentTo(alice.name)).toHaveLength(sentByBob + 1);
  const reset = lastFrame(bob, alice);
  expect(reset.type).toBe('prekey');

  const shown = alice.inboxTexts();
  const told = await alice.client.checkInbox();
  expect(told).toMatchObject({ received: 0, rejected: 0 });
  // The reset letter is never shown.
  expect(alice.inboxTexts()).toEqual(shown);

  // Healed, both ways, without further notices.
  await alice.client.send(bob.name, 'after the reset');
  expect(lastFrame(alice, bob).type).toBe('message');
  expect(await bob.client.checkInbox()).toMatchObject({ received: 1, sessionResets: [] });
  expect(bob.inboxTexts().at(-1)).toBe('after the reset');
  await bob.client.send(alice.name, 'healed');
  expect(await alice.client.checkInbox()).toMatchObject({ received: 1, sessionResets: [] });
  expect(alice.inboxTexts().at(-1)).toBe('healed');

  // Alice was told her session with Bob was replaced (the reset letter is marked renewed).
  expect(reset.renewed).toBe(true);
  expect(told.sessionResets).toEqual([{ name: bob.name, lost: false }]);
}

describe('a restored backup', () => {
  it("replaces Bob's store by an older copy: Alice's next letter is lost, the session heals", async () => {
    const { alice, bob } = await pair();
    await exchange(alice, bob, 'before the backup');
    const backup = join(world.dir, `${bob.name}-backup.db`);
    bob.close();
    copySqlite(bob.path, backup);
    bob.open();
    // The session moves on past the backup, both ways.
    await exchange(alice, bob, 'after the backup');
    await exchange(alice, bob, 'later still');

    bob.close();
    copySqlite(backup, bob.path);
    bob.open();
    expect(bob.inboxTexts()).toEqual(['before the backup: alice']);
    await expectHealing(alice, bob);
  });

  it('heals a second loss the same way when the first reset was more than an hour ago', async () => {
    const { alice, bob } = await pair();
    await exchange(alice, bob, 'start');
    const backup = join(world.dir, `${bob.name}-backup.db`);
    bob.close();
    copySqlite(bob.path, backup);
    bob.open();
    await exchange(alice, bob, 'moved on');
    bob.close();
    copySqlite(backup, bob.path);
    bob.open();
    await expectHealing(alice, bob);
    // A forger can make letters that do not open: resets are rate-limited per komrade. Pretend
    // the last one was long ago, then lose the sessions again.
    bob.store.markRatchetReset(alice.name, Date.now() - 2 * 3_600_000);
    deleteSessions(bob);
    await expectHealing(alice, bob);
  });
});

function deleteSessions(komrade: FsKomrade): number {
  const db = new Database(komrade.path, { fileMustExist: true });
  try {
    return db.prepare('DELETE FROM ratchet_sessions').run().changes;
  } finally {
    db.close();
  }
}

describe('lost sessions', () => {
  it("deletes Bob's sessions: Alice's next letter is lost, the session heals", async () => {
    const { alice, bob } = await pair();
    await exchange(alice, bob, 'one');
    await exchange(alice, bob, 'two');
    expect(deleteSessions(bob)).toBe(1);
    await expectHealing(alice, bob);
  });

  // Until Alice hears back, all her letters are first messages naming the one-time prekey Bob
  // spent. Without the session, Bob must not take each for a replay (dropped silently, the
  // session never healing): only the exact bytes of a first message opened before are a replay
  // (their digest is remembered); other bytes naming spent prekeys are a lost session, reset.
  it("deletes Bob's sessions before he ever answered: Alice's letters must not vanish silently", async () => {
    const { alice, bob } = await pair();
    await alice.client.send(bob.name, 'first');
    expect(await bob.client.checkInbox()).toMatchObject({ received: 1 });
    expect(deleteSessions(bob)).toBe(1);
    await alice.client.send(bob.name, 'second, same first-message keys');
    expect(lastFrame(alice, bob).type).toBe('prekey');
    const check = await bob.client.checkInbox();
    expect(check.received).toBe(0);
    // Lost like any other letter of a lost session: Bob is told, and a reset heals it.
    expect(check.sessionResets).toEqual([{ name: alice.name, lost: true }]);
    expect(bob.sentTo(alice.name)).toHaveLength(1);
    await alice.client.checkInbox();
    await alice.client.send(bob.name, 'third');
    expect(await bob.client.checkInbox()).toMatchObject({ received: 1 });
    expect(bob.inboxTexts()).toEqual(['first', 'third']);
  });
});

// A restore brings back the prekeys of the backup but forgets the spent ids, the Kyber uses and
// the processed letter ids since, so a first message delivered after the backup and replayed
// after the restore would open again and be shown as new. `prepareRestoredStore` therefore
// drops the backup's prekeys (new ones replace them, and all one-time prekeys at the Operator).
describe('a first message replayed after a backup restore', () => {
  for (const oneTime of [true, false]) {
    it(`is not shown again (${oneTime ? 'one-time prekey' : 'last-resort keys only'}), with the restore hook applied`, async () => {
      const bob = world.komrade('bob');
      if (!oneTime) {
        bob.limitOneTimePrekeys(0);
      }
      await bob.client.register(bob.name);
      const carol = await world.registered('carol');
      bob.client.accept(carol.name);
      // The backup is taken before Carol's first contact.
      const backup = join(world.dir, `${bob.name}-backup.db`);
      bob.close();
      copySqlite(bob.path, backup);
      bob.open();
      await carol.client.send(bob.name, 'first contact');
      expect(await bob.client.checkInbox()).toMatchObject({ received: 1 });
      await bob.client.send(carol.name, 'answer');
      expect(await carol.client.checkInbox()).toMatchObject({ received: 1 });

      bob.close();
      copySqlite(backup, bob.path);
      bob.open();
      prepareRestoredStore(bob.store);
      bob.client.accept(carol.name);
      // The Operator kept Carol's first message and delivers it again.
      const [first] = carol.sentTo(bob.name);
      if (first === undefined) throw new Error('nothing recorded');
      await world.deposit(bob.name, first);
      const check = await bob.client.checkInbox();
      expect(check.received).toBe(0);
      expect(bob.inboxTexts()).toEqual([]);
    });
  }
});
