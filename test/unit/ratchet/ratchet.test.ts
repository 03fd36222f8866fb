/**
 * The Ratchet over real SQLite local stores, without an Operator: each side's bundle is what it
 * would publish (`prekeysToPublish`), handed over as the Operator would hand it out, one-time
 * prekey once. Shows the sessions, the replay refusals, the identity checks, prekey rotation and
 * what a restore does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Ratchet,
  SqliteLocalStore,
  prepareRestoredStore,
  ratchetKeyOf,
} from '../../../client/index.js';
import {
  generateIdentityKeys,
  randomBytes,
  type IdentityKeys,
} from '../../../common/crypto/index.js';
import { bytesEqual, type PrekeyBundle, type PrekeyUpload } from '../../../common/wire/index.js';

const DAY = 86_400_000;
let dir: string;
let clock: number;
const stores: SqliteLocalStore[] = [];

interface Side {
  readonly name: string;
  readonly keys: IdentityKeys;
  readonly store: SqliteLocalStore;
  readonly ratchet: Ratchet;
  /** What it published, as the Operator holds it. */
  published: { lastResort: PrekeyUpload; oneTime: { id: number; publicKey: Uint8Array }[] };
  bundles: number;
}

const sides = new Map<string, Side>();

function side(name: string, path = join(dir, `${name}.db`), keys = generateIdentityKeys()): Side {
  const store = new SqliteLocalStore(path, { storageKey: new Uint8Array(32).fill(name.length) });
  stores.push(store);
  const me: Side = {
    name,
    keys,
    store,
    published: { lastResort: {}, oneTime: [] },
    bundles: 0,
    ratchet: new Ratchet({
      store,
      keys,
      self: () => name,
      now: () => clock,
      fetchBundle: (peer) => {
        const them = sides.get(peer);
        if (them === undefined) throw new Error(`no ${peer}`);
        them.bundles++;
        const { signedPrekey, kyberPrekey } = them.published.lastResort;
        if (signedPrekey === undefined || kyberPrekey === undefined) throw new Error('no prekeys');
        const oneTimePrekey = them.published.oneTime.shift();
        const bundle: PrekeyBundle = {
          name: peer,
          signedPrekey,
          kyberPrekey,
          ...(oneTimePrekey === undefined ? {} : { oneTimePrekey }),
        };
        return Promise.resolve(bundle);
      },
    }),
  };
  publish(me);
  sides.set(name, me);
  return me;
}

function publish(me: Side, oneTimeLeft = 0): void {
  const upload = me.ratchet.prekeysToPublish(oneTimeLeft);
  me.published.lastResort = {
    ...(upload.signedPrekey === undefined ? {} : { signedPrekey: upload.signedPrekey }),
    ...(upload.kyberPrekey === undefined ? {} : { kyberPrekey: upload.kyberPrekey }),
  };
  me.published.oneTime.push(...(upload.oneTimePrekeys ?? []));
}

const peer = (s: Side) => ({ name: s.name, ratchetKey: ratchetKeyOf(s.keys) });
const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);

async function open(to: Side, from: Side, message: Awaited<ReturnType<Ratchet['encrypt']>>) {
  const id = randomBytes(16);
  return to.ratchet.decrypt(peer(from), message, id, message.msg);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-ratchet-'));
  clock = Date.UTC(2026, 11, 3);
  sides.clear();
});
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Ratchet', () => {
  it('derives a ratchet key of its own: stable for the keys, distinct from the box key', () => {
    const keys = generateIdentityKeys();
    const key = ratchetKeyOf(keys);
    expect(key).toHaveLength(33);
    expect(key[0]).toBe(0x05);
    expect(bytesEqual(key, ratchetKeyOf(keys))).toBe(true);
    expect(bytesEqual(key.subarray(1), keys.boxPublic)).toBe(false);
    expect(bytesEqual(key, ratchetKeyOf(generateIdentityKeys()))).toBe(false);
  });

  it('starts with first messages until answered, then continues in both directions', async () => {
    const alice = side('alice');
    const bob = side('bob');
    const first = await alice.ratchet.encrypt(peer(bob), text('one'));
    const second = await alice.ratchet.encrypt(peer(bob), text('two'));
    expect([first.type, second.type]).toEqual(['prekey', 'prekey']);
    expect(first.renewed).toBeUndefined();
    expect(bob.bundles).toBe(1);
    // Out of order: the second first.
    const b2 = await open(bob, alice, second);
    const b1 = await open(bob, alice, first);
    expect(b2.status === 'opened' && read(b2.plaintext)).toBe('two');
    expect(b1.status === 'opened' && read(b1.plaintext)).toBe('one');
    const reply = await bob.ratchet.encrypt(peer(alice), text('hi alice'));
    expect(reply.type).toBe('message');
    expect(alice.bundles).toBe(0);
    const a1 = await open(alice, bob, reply);
    expect(a1.status === 'opened' && read(a1.plaintext)).toBe('hi alice');
    const third = await alice.ratchet.encrypt(peer(bob), text('three'));
    expect(third.type).toBe('message');
    expect((await open(bob, alice, third)).status).toBe('opened');
  });

  it('loses nothing but one letter when a sender crashed after its step and before sending', async () => {
    const alice = side('alice');
    const bob = side('bob');
    const hello = await alice.ratchet.encrypt(peer(bob), text('hello'));
    expect((await open(bob, alice, hello)).status).toBe('opened');
    const answer = await bob.ratchet.encrypt(peer(alice), text('hi'));
    expect((await open(alice, bob, answer)).status).toBe('opened');
    // Committed, then never sent (the process died): its message key is simply skipped.
    await alice.ratchet.encrypt(peer(bob), text('lost'));
    await alice.ratchet.encrypt(peer(bob), text('lost too'));
    const next = await alice.ratchet.encrypt(peer(bob), text('next'));
    const opened = await open(bob, alice, next);
    expect(opened.status === 'opened' && read(opened.plaintext)).toBe('next');
    const back = await bob.ratchet.encrypt(peer(alice), text('still here'));
    expect((await open(alice, bob, back)).status).toBe('opened');
  });

  it('refuses a message opened before, and answers a letter fetched again from the kept copy', async () => {
    const alice = side('alice');
    const bob = side('bob');
    const m = await alice.ratchet.encrypt(peer(bob), text('once'));
    const id = randomBytes(16);
    const first = await bob.ratchet.decrypt(peer(alice), m, id, m.msg);
    expect(first.status).toBe('opened');
    // Fetched again before the ack (a crash): the same id and bytes open from the kept copy.
    const again = await bob.ratchet.decrypt(peer(alice), m, id, m.msg);
    expect(again.status === 'opened' && read(again.plaintext)).toBe('once');
    // Under another id (the Operator replaying it), or once forgotten: refused.
    expect((await bob.ratchet.decrypt(peer(alice), m, randomBytes(16), m.msg)).status).toBe(
      'duplicate',
    );
    bob.ratchet.forgetOpened([id]);
    expect((await bob.ratchet.decrypt(peer(alice), m, id, m.msg)).status).toBe('duplicate');
  });

  it('refuses a replayed first message after the session is gone, with or without a one-time prekey', async () => {
    const alice = side('alice');
    const bob = side('bob');
    const carol = side('carol');
    const withOneTime = await alice.ratchet.encrypt(peer(carol), text('a'));
    carol.published.oneTime = []; // bob finds none: the last-resort keys alone
    const lastResort = await bob.ratchet.encrypt(peer(carol), text('b'));
    expect((await open(carol, alice, withOneTime)).status).toBe('opened');
    expect((await open(carol, bob, lastResort)).status).toBe('opened');
    // Carol loses her sessions (the rows deleted); the Operator replays both first messages.
    const raw = new Database(join(dir, 'carol.db'));
    expect(raw.prepare('DELETE FROM ratchet_sessions').run().changes).toBe(2);
    raw.close();
    expect(carol.store.ratchetPeers()).toEqual([]);
    expect((await open(carol, alice, withOneTime)).status).toBe('duplicate');
    expect((await open(carol, bob, lastResort)).status).toBe('duplicate');
    expect(carol.store.ratchetPeers()).toEqual([]);
    // A new session (new base key, another one-time prekey) from the same komrade still opens.
    await alice.ratchet.restart(peer(carol));
    const anew = await alice.ratchet.encrypt(peer(carol), text('anew'));
    expect(anew.renewed).toBe(true);
    const opened = await open(carol, alice, anew);
    expect(opened.status === 'opened' && read(opened.plaintext)).toBe('anew');
  });

  it('refuses a message made with an identity key that is not the registered one', async () => {
    const alice = side('alice');
    const bob = side('bob');
    const m = await alice.ratchet.encrypt(peer(bob), text('x'));
    const impostor = { name: 'alice', ratchetKey: ratchetKeyOf(generateIdentityKeys()) };
    expect((await bob.ratchet.decrypt(impostor, m, randomBytes(16), m.msg)).status).toBe(
      'untrusted',
    );
    expect(
      (await bob.ratchet.decrypt({ name: 'alice', ratchetKey: null }, m, randomBytes(16), m.msg))
        .status,
    ).toBe('untrusted');
  });

  it('refuses a bundle whose prekeys the registered key did not sign, and stores no session', async () => {
    const alice = side('alice');
    const bob = side('bob');
    const mallory = side('mallory');
    // The Operator serves mallory's prekeys as bob's.
    bob.published = mallory.published;
    await expect(alice.ratchet.encrypt(peer(bob), text('x'))).rejects.toMatchObject({
      code: 'OPERATOR_ERROR',
    });
    expect(alice.store.ratchetSession('bob')).toBeUndefined();
    await expect(
      alice.ratchet.encrypt({ name: 'bob', ratchetKey: null }, text('x')),
    ).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });

  it('restart and restore end the session; the next letter is a renewed first message that still opens', async () => {
    const alice = side('alice');
    const bob = side('bob');
    const m1 = await alice.ratchet.encrypt(peer(bob), text('1'));
    expect((await open(bob, alice, m1)).status).toBe('opened');
    const r = await bob.ratchet.encrypt(peer(alice), text('r'));
    expect((await open(alice, bob, r)).status).toBe('opened');
    const inFlight = await alice.ratchet.encrypt(peer(bob), text('in flight'));
    expect(prepareRestoredStore(alice.store)).toBe(1);
    const renewed = await alice.ratchet.encrypt(peer(bob), text('after restore'));
    expect(renewed.type).toBe('prekey');
    expect(renewed.renewed).toBe(true);
    const opened = await open(bob, alice, renewed);
    expect(opened.status === 'opened' && opened.reset).toBe(true);
    // A letter already on its way in the old session still opens (archived, not deleted).
    const late = await open(bob, alice, inFlight);
    expect(late.status === 'opened' && read(late.plaintext)).toBe('in flight');
  });

  it('replaces the signed and Kyber prekeys weekly and deletes a replaced one 30 days later', () => {
    const bob = side('bob');
    const first = bob.published.lastResort;
    clock += 6 * DAY;
    publish(bob, 100);
    expect(bob.published.lastResort.signedPrekey?.id).toBe(first.signedPrekey?.id);
    clock += 1 * DAY;
    publish(bob, 100);
    const second = bob.published.lastResort;
    expect(second.signedPrekey?.id).not.toBe(first.signedPrekey?.id);
    expect(second.kyberPrekey?.id).not.toBe(first.kyberPrekey?.id);
    const firstId = first.signedPrekey?.id ?? 0;
    expect(bob.store.ownPrekey('signed', firstId)).toBeDefined();
    clock += 29 * DAY;
    publish(bob, 100);
    expect(bob.store.ownPrekey('signed', firstId)).toBeDefined();
    clock += 1 * DAY;
    publish(bob, 100);
    expect(bob.store.ownPrekey('signed', firstId)).toBeUndefined();
    expect(bob.store.ownPrekey('kyber', first.kyberPrekey?.id ?? 0)).toBeUndefined();
  });

  it('makes one-time prekeys only when few are left, never reusing an id', () => {
    const bob = side('bob');
    const ids = bob.published.oneTime.map((k) => k.id);
    expect(ids).toHaveLength(100);
    publish(bob, 30);
    expect(bob.published.oneTime).toHaveLength(100);
    publish(bob, 10);
    const all = bob.published.oneTime.map((k) => k.id);
    expect(all.length).toBeGreaterThan(100);
    expect(new Set(all).size).toBe(all.length);
    prepareRestoredStore(bob.store);
    publish(bob, 0);
    const after = bob.published.oneTime.map((k) => k.id);
    expect(Math.min(...after.slice(all.length))).toBeGreaterThan(1_000_000);
  });
});
