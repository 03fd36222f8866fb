/**
 * Contract suites for the Operator's store ports. Every implementation (SQLite today, anything we
 * add later) runs the same suites through {@link describeStoreContract}.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blake2b, generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { isKomradeError, type KomradeError } from '../../common/errors/index.js';
import {
  MemoryMerkleTree,
  emptyRoot,
  leafHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../common/transparency/index.js';
import { receiptLeaf } from '../../common/wire/index.js';
import type { OperatorStore, RegisteredKomrade } from '../../operator/index.js';

/** What a store holds of shared letter bodies, as its implementation counts them. */
export interface SharedBodies {
  readonly count: number;
  readonly bytes: number;
}

/** A store under test and how to dispose of it. */
export interface StoreUnderTest {
  readonly store: OperatorStore;
  /**
   * Inspects storage itself (not through the ports): the shared bodies held once everything
   * durable so far, so the contract can check a body is stored once and really deleted.
   */
  sharedBodies(): Promise<SharedBodies>;
  dispose(): Promise<void>;
}

/** Makes a fresh, empty store for each test. */
export type StoreFactory = () => Promise<StoreUnderTest>;

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

/** A registry record with fresh keys, registered at a fixed time (the signature is filler). */
export function komrade(name: string): RegisteredKomrade {
  const keys = generateIdentityKeys();
  return {
    name,
    signKey: keys.signPublic,
    boxKey: keys.boxPublic,
    keyHolder: 'self',
    ratchetKey: Uint8Array.of(0x05, ...randomBytes(32)),
    registeredAt: NOW,
    sig: randomBytes(64),
  };
}

/** The code of the `KomradeError` that `promise` rejects with (`undefined` when it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isKomradeError(error) ? error.code : 'not a KomradeError';
  }
}

async function errorOf(promise: Promise<unknown>): Promise<KomradeError | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (isKomradeError(error)) return error;
    throw error;
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function useStore(factory: StoreFactory): () => OperatorStore {
  const current = useStoreUnderTest(factory);
  return () => current().store;
}

function useStoreUnderTest(factory: StoreFactory): () => StoreUnderTest {
  let current: StoreUnderTest | undefined;
  beforeEach(async () => {
    current = await factory();
  });
  afterEach(async () => {
    await current?.dispose();
    current = undefined;
  });
  return () => {
    if (current === undefined) throw new Error('no store');
    return current;
  };
}

/** The durability contract: changes are visible at once and durable once durable() resolves. */
export function describeDurabilityContract(label: string, factory: StoreFactory): void {
  describe(`Durability contract: ${label}`, () => {
    const store = useStore(factory);

    it('shows a change to the next operation at once, and durable() resolves after it', async () => {
      const s = store();
      const registering = s.register(komrade('alice'));
      expect(await s.lookup('alice')).toBeDefined();
      await registering;
      await expect(s.durable()).resolves.toBeUndefined();
      // With nothing pending, durable() resolves too.
      await expect(s.durable()).resolves.toBeUndefined();
    });

    it('keeps a refused operation from touching anything', async () => {
      const s = store();
      await s.register(komrade('alice'));
      expect(await codeOf(s.register(komrade('alice')))).toBe('NAME_TAKEN');
      await s.durable();
      expect(await s.lookup('alice')).toBeDefined();
    });
  });
}

/** The Registry contract: first come first served, permanent, keys never reused. */
export function describeRegistryContract(label: string, factory: StoreFactory): void {
  describe(`Registry contract: ${label}`, () => {
    const store = useStore(factory);

    it('returns what was registered, byte for byte', async () => {
      const alice = komrade('alice');
      await store().register(alice);
      const found = await store().lookup('alice');
      expect(found).toBeDefined();
      expect(found?.name).toBe('alice');
      expect(hex(found!.signKey)).toBe(hex(alice.signKey));
      expect(hex(found!.boxKey)).toBe(hex(alice.boxKey));
      expect(hex(found!.sig)).toBe(hex(alice.sig));
      expect(found?.registeredAt).toBe(NOW);
    });

    it('answers undefined for an unknown name', async () => {
      expect(await store().lookup('nobody')).toBeUndefined();
    });

    it('refuses a taken name with NAME_TAKEN and keeps the first', async () => {
      const first = komrade('alice');
      await store().register(first);
      expect(await codeOf(store().register(komrade('alice')))).toBe('NAME_TAKEN');
      expect(hex((await store().lookup('alice'))!.signKey)).toBe(hex(first.signKey));
    });

    it('refuses keys already registered under another name', async () => {
      const alice = komrade('alice');
      await store().register(alice);
      expect(await codeOf(store().register({ ...komrade('bob'), signKey: alice.signKey }))).toBe(
        'BAD_REQUEST',
      );
      expect(await codeOf(store().register({ ...komrade('bob'), boxKey: alice.boxKey }))).toBe(
        'BAD_REQUEST',
      );
      expect(await store().lookup('bob')).toBeUndefined();
    });

    it('lets exactly one of two simultaneous claims win', async () => {
      const results = await Promise.allSettled([
        store().register(komrade('carol')),
        store().register(komrade('carol')),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(await store().lookup('carol')).toBeDefined();
    });

    it('refuses a look-alike of a registered name with NAME_TAKEN, naming neither', async () => {
      await store().register(komrade('alice'));
      for (const lookAlike of ['a1ice', 'aiice', 'al_ice', 'alice_', '4lice']) {
        const refused = await errorOf(store().register(komrade(lookAlike)));
        expect(refused?.code).toBe('NAME_TAKEN');
        expect(refused?.message).toBe(
          'That name looks like an existing or reserved name; choose another.',
        );
        expect(await store().lookup(lookAlike)).toBeUndefined();
      }
      // Lookups stay exact, and a name that only shares letters is not a look-alike.
      expect((await store().lookup('alice'))?.name).toBe('alice');
      await store().register(komrade('alicia'));
      expect((await store().lookup('alicia'))?.name).toBe('alicia');
    });

    it('refuses the plain name once its look-alike is registered', async () => {
      await store().register(komrade('a1ice'));
      expect(await codeOf(store().register(komrade('alice')))).toBe('NAME_TAKEN');
      await store().register(komrade('w1ll'));
      expect(await codeOf(store().register(komrade('vvill')))).toBe('NAME_TAKEN');
      expect(await codeOf(store().register(komrade('rnary')))).toBeUndefined();
      expect(await codeOf(store().register(komrade('mary')))).toBe('NAME_TAKEN');
    });

    it('lets exactly one of two simultaneous look-alike claims win', async () => {
      const results = await Promise.allSettled([
        store().register(komrade('alice')),
        store().register(komrade('a1ice')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      expect(await store().lookup('alice')).toBeDefined();
      expect(await store().lookup('a1ice')).toBeUndefined();
    });
  });
}

/**
 * The RegistryLog contract: every registration and ratchet-key update is one leaf, at the next
 * index with no gap, appended with its row or not at all; roots and proofs are RFC 9162's.
 */
export function describeRegistryLogContract(label: string, factory: StoreFactory): void {
  describe(`RegistryLog contract: ${label}`, () => {
    const store = useStore(factory);

    /** The root of `entries` as an independent tree computes it. */
    const rootOf = (entries: readonly RegisteredKomrade[]): Uint8Array => {
      const tree = new MemoryMerkleTree();
      for (const entry of entries) tree.append(leafHash(receiptLeaf(entry)));
      return rootHash(tree);
    };

    /** Checks the whole log against an independent tree: roots, every proof, every size. */
    async function expectSoundLog(s: OperatorStore): Promise<RegisteredKomrade[]> {
      const { size, rootHash: root } = await s.logHead();
      const entries = await s.logEntries(0, size);
      expect(entries).toHaveLength(size);
      expect(hex(root)).toBe(hex(rootOf(entries)));
      const roots = [emptyRoot()];
      for (let n = 1; n <= size; n++) roots.push(rootOf(entries.slice(0, n)));
      for (let n = 1; n <= size; n++) {
        for (let i = 0; i < n; i++) {
          const hashes = await s.logInclusionAt(i, n);
          expect(verifyInclusion(leafHash(receiptLeaf(entries[i]!)), i, n, hashes, roots[n]!)).toBe(
            true,
          );
        }
        for (let m = 1; m <= n; m++) {
          const proof = await s.logConsistency(m, n);
          expect(verifyConsistency(m, n, roots[m]!, roots[n]!, proof)).toBe(true);
        }
      }
      return entries;
    }

    it('starts empty, with the empty tree’s root', async () => {
      const head = await store().logHead();
      expect(head.size).toBe(0);
      expect(hex(head.rootHash)).toBe(hex(emptyRoot()));
      expect(await store().logEntries(0, 0)).toEqual([]);
      expect((await store().logInclusions(['alice'])).proofs.size).toBe(0);
    });

    it('appends each registration at the next index, byte for byte as registered', async () => {
      const registered = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace'].map(komrade);
      for (const k of registered) await store().register(k);
      const entries = await expectSoundLog(store());
      expect(entries.map((e) => e.name)).toEqual(registered.map((k) => k.name));
      for (const [i, k] of registered.entries()) {
        expect(hex(receiptLeaf(entries[i]!))).toBe(hex(receiptLeaf(k)));
      }
      expect((await store().logEntries(2, 5)).map((e) => e.name)).toEqual([
        'carol',
        'dave',
        'erin',
      ]);
    });

    it('proves each name’s newest leaf against a head of the same size', async () => {
      const names = ['alice', 'bob', 'carol', 'dave', 'erin'];
      for (const name of names) await store().register(komrade(name));
      const { head, proofs } = await store().logInclusions([...names, 'nobody', 'alice']);
      expect(head.size).toBe(5);
      expect(proofs.has('nobody')).toBe(false);
      for (const [i, name] of names.entries()) {
        const proof = proofs.get(name)!;
        expect(proof.index).toBe(i);
        expect(proof.entry.name).toBe(name);
        const leaf = leafHash(receiptLeaf(proof.entry));
        expect(verifyInclusion(leaf, i, head.size, proof.hashes, head.rootHash)).toBe(true);
      }
    });

    it('gives simultaneous registrations distinct consecutive indexes', async () => {
      const names =
        'apple banana cherry dates elder figs grape hazel kiwis lemon mango nectar olive peach quince sorrel tomato ugli vanilla walnut yam zucchini acorn basil'.split(
          ' ',
        );
      await Promise.all(names.map((name) => store().register(komrade(name))));
      const entries = await expectSoundLog(store());
      expect(entries.map((e) => e.name).sort()).toEqual([...names].sort());
    });

    it('appends nothing for a refused registration', async () => {
      const alice = komrade('alice');
      await store().register(alice);
      await store().createCollective({
        name: 'portland',
        genesis: { signed: Uint8Array.of(1), sig: randomBytes(64) },
        createdAt: NOW,
      });
      const before = await store().logHead();
      const refused = await Promise.all([
        codeOf(store().register(komrade('alice'))),
        codeOf(store().register(komrade('a1ice'))),
        codeOf(store().register(komrade('portland'))),
        codeOf(store().register({ ...komrade('bob'), signKey: alice.signKey })),
      ]);
      expect(refused).toEqual(['NAME_TAKEN', 'NAME_TAKEN', 'NAME_TAKEN', 'BAD_REQUEST']);
      const after = await store().logHead();
      expect(after.size).toBe(before.size);
      expect(hex(after.rootHash)).toBe(hex(before.rootHash));
      await store().register(komrade('bob'));
      expect((await expectSoundLog(store())).map((e) => e.name)).toEqual(['alice', 'bob']);
    });

    it('appends a ratchet-key update as one new leaf, and a repeat of it as none', async () => {
      const old = { ...komrade('alice'), ratchetKey: null };
      await store().register(old);
      await store().register(komrade('bob'));
      const key = Uint8Array.of(0x05, ...randomBytes(32));
      const sig = randomBytes(64);
      await store().setRatchetKey('alice', key, sig);
      expect((await store().logHead()).size).toBe(3);
      // The same key again changes nothing; another key is refused, also appending nothing.
      await store().setRatchetKey('alice', key, randomBytes(64));
      const other = Uint8Array.of(0x05, ...randomBytes(32));
      expect(await codeOf(store().setRatchetKey('alice', other, randomBytes(64)))).toBe(
        'RATCHET_KEY_SET',
      );
      expect(await codeOf(store().setRatchetKey('nobody', other, randomBytes(64)))).toBe(
        'NAME_UNKNOWN',
      );
      const entries = await expectSoundLog(store());
      expect(entries.map((e) => e.name)).toEqual(['alice', 'bob', 'alice']);
      // The first leaf keeps the first receipt; the newest is the updated one.
      expect(entries[0]!.ratchetKey).toBeNull();
      expect(hex(entries[0]!.sig)).toBe(hex(old.sig));
      expect(hex(entries[2]!.ratchetKey!)).toBe(hex(key));
      expect(hex(entries[2]!.sig)).toBe(hex(sig));
      const newest = (await store().logInclusions(['alice'])).proofs.get('alice');
      expect(newest?.index).toBe(2);
      expect(hex(newest!.entry.sig)).toBe(hex(sig));
    });

    it('refuses positions outside the log with BAD_REQUEST', async () => {
      for (const name of ['alice', 'bob', 'carol']) await store().register(komrade(name));
      const s = store();
      const refusals = await Promise.all([
        codeOf(s.logConsistency(0, 2)),
        codeOf(s.logConsistency(3, 2)),
        codeOf(s.logConsistency(1, 4)),
        codeOf(s.logConsistency(1.5, 2)),
        codeOf(s.logInclusionAt(3, 3)),
        codeOf(s.logInclusionAt(0, 4)),
        codeOf(s.logInclusionAt(-1, 3)),
        codeOf(s.logEntries(-1, 2)),
        codeOf(s.logEntries(2, 1)),
        codeOf(s.logEntries(0, 4)),
        codeOf(s.logEntries(0.5, 2)),
      ]);
      expect(refusals.every((code) => code === 'BAD_REQUEST')).toBe(true);
      expect(await s.logConsistency(3, 3)).toEqual([]);
    });
  });
}

/** The Mailbox contract: atomic batches, quota, oldest first, own-letters-only ack, expiry. */
export function describeMailboxContract(label: string, factory: StoreFactory): void {
  describe(`Mailbox contract: ${label}`, () => {
    const store = useStore(factory);
    const options = { receivedAt: NOW, expiresAt: NOW + 21 * DAY, quota: 5 };

    beforeEach(async () => {
      await store().register(komrade('alice'));
      await store().register(komrade('bob'));
    });

    it('hands letters back oldest first, with their ids', async () => {
      const first = await store().deposit([{ to: 'bob', sealed: Uint8Array.of(1) }], options);
      const second = await store().deposit(
        [
          { to: 'bob', sealed: Uint8Array.of(2) },
          { to: 'alice', sealed: Uint8Array.of(9) },
          { to: 'bob', sealed: Uint8Array.of(3) },
        ],
        { ...options, receivedAt: NOW + 1 },
      );
      expect(first).toHaveLength(1);
      expect(second).toHaveLength(3);
      expect(second.every((id) => id.length === 16)).toBe(true);
      const { letters, more } = await store().fetch('bob', 10, NOW + 2);
      expect(more).toBe(false);
      expect(letters.map((l) => l.sealed[0])).toEqual([1, 2, 3]);
      expect(letters.map((l) => hex(l.id))).toEqual([first[0]!, second[0]!, second[2]!].map(hex));
      // Times are kept only to the 10-minute step: NOW + 1 is stored as NOW.
      expect(letters.map((l) => l.receivedAt)).toEqual([NOW, NOW, NOW]);
    });

    it('stores received-at rounded down to 10 minutes, for single and shared letters', async () => {
      await store().deposit([{ to: 'bob', sealed: Uint8Array.of(1) }], {
        ...options,
        receivedAt: NOW + 599_999,
      });
      await store().deposit([{ to: 'bob', sealed: Uint8Array.of(2) }], {
        ...options,
        receivedAt: NOW + 600_000 + 12_345,
      });
      await store().depositShared(
        { body: Uint8Array.of(9), envelopes: [{ to: 'bob', sealed: Uint8Array.of(3) }] },
        { ...options, receivedAt: NOW + 1_234_567 },
      );
      const { letters } = await store().fetch('bob', 10, NOW);
      expect(letters.map((l) => l.receivedAt)).toEqual([NOW, NOW + 600_000, NOW + 1_200_000]);
    });

    it('pages with a limit and says when more wait', async () => {
      await store().deposit(
        [1, 2, 3].map((n) => ({ to: 'bob', sealed: Uint8Array.of(n) })),
        options,
      );
      const page = await store().fetch('bob', 2, NOW);
      expect(page.letters.map((l) => l.sealed[0])).toEqual([1, 2]);
      expect(page.more).toBe(true);
      expect((await store().fetch('bob', 3, NOW)).more).toBe(false);
    });

    it('deletes on ack only the recipient’s own letters', async () => {
      const [forBob] = await store().deposit([{ to: 'bob', sealed: Uint8Array.of(1) }], options);
      const [forAlice] = await store().deposit(
        [{ to: 'alice', sealed: Uint8Array.of(2) }],
        options,
      );
      expect(await store().ack('alice', [forBob!])).toBe(0);
      expect((await store().fetch('bob', 10, NOW)).letters).toHaveLength(1);
      expect(await store().ack('bob', [forBob!, forAlice!, randomBytes(16)])).toBe(1);
      expect((await store().fetch('bob', 10, NOW)).letters).toHaveLength(0);
      expect((await store().fetch('alice', 10, NOW)).letters).toHaveLength(1);
      expect(await store().ack('bob', [forBob!])).toBe(0);
    });

    it('refuses a batch over quota with MAILBOX_FULL and stores none of it', async () => {
      await store().deposit(
        [1, 2, 3, 4].map((n) => ({ to: 'bob', sealed: Uint8Array.of(n) })),
        options,
      );
      const code = await codeOf(
        store().deposit(
          [
            { to: 'alice', sealed: Uint8Array.of(7) },
            { to: 'bob', sealed: Uint8Array.of(5) },
            { to: 'bob', sealed: Uint8Array.of(6) },
          ],
          options,
        ),
      );
      expect(code).toBe('MAILBOX_FULL');
      expect((await store().fetch('alice', 10, NOW)).letters).toHaveLength(0);
      expect((await store().fetch('bob', 10, NOW)).letters).toHaveLength(4);
      await store().deposit([{ to: 'bob', sealed: Uint8Array.of(5) }], options);
      expect((await store().fetch('bob', 10, NOW)).letters).toHaveLength(5);
    });

    it('says which mailboxes hold mail, in the order asked, without touching the letters', async () => {
      await store().register(komrade('carol'));
      expect(await store().hasMail(['alice', 'bob', 'carol'], NOW)).toEqual([]);
      await store().deposit(
        [
          { to: 'carol', sealed: Uint8Array.of(1) },
          { to: 'alice', sealed: Uint8Array.of(2) },
          { to: 'carol', sealed: Uint8Array.of(3) },
        ],
        options,
      );
      expect(await store().hasMail(['carol', 'bob', 'alice'], NOW)).toEqual(['carol', 'alice']);
      expect(await store().hasMail(['bob', 'nobody'], NOW)).toEqual([]);
      expect(await store().hasMail([], NOW)).toEqual([]);
      expect((await store().fetch('carol', 10, NOW)).letters).toHaveLength(2);
      const [letter] = (await store().fetch('alice', 10, NOW)).letters;
      await store().ack('alice', [letter!.id]);
      expect(await store().hasMail(['alice', 'carol'], NOW)).toEqual(['carol']);
    });

    it('counts a shared letter as mail, and an expired one as none', async () => {
      await store().depositShared(
        { body: Uint8Array.of(7), envelopes: [{ to: 'alice', sealed: Uint8Array.of(1) }] },
        { ...options, expiresAt: NOW + DAY },
      );
      expect(await store().hasMail(['alice'], NOW + DAY - 1)).toEqual(['alice']);
      expect(await store().hasMail(['alice'], NOW + DAY)).toEqual([]);
    });

    it('does not serve expired letters, and sweeps them', async () => {
      await store().deposit([{ to: 'bob', sealed: Uint8Array.of(1) }], {
        ...options,
        expiresAt: NOW + DAY,
      });
      await store().deposit([{ to: 'bob', sealed: Uint8Array.of(2) }], options);
      expect((await store().fetch('bob', 10, NOW + DAY)).letters.map((l) => l.sealed[0])).toEqual([
        2,
      ]);
      expect(await store().sweepExpiredLetters(NOW + DAY - 1)).toBe(0);
      expect(await store().sweepExpiredLetters(NOW + DAY)).toBe(1);
      expect((await store().fetch('bob', 10, NOW)).letters.map((l) => l.sealed[0])).toEqual([2]);
    });
  });
}

/**
 * The shared-letter contract (collective messages): one body stored once for every recipient,
 * deleted with the last letter that refers to it, by ack or by expiry.
 */
export function describeSharedLetterContract(label: string, factory: StoreFactory): void {
  describe(`Mailbox shared letters contract: ${label}`, () => {
    const under = useStoreUnderTest(factory);
    const store = () => under().store;
    const options = { receivedAt: NOW, expiresAt: NOW + 21 * DAY, quota: 5 };
    const names = ['ann', 'ben', 'cat', 'dan', 'eve'];
    const body = randomBytes(3_000);
    const envelopes = names.map((to, i) => ({ to, sealed: Uint8Array.of(i, 7, 7) }));
    const bodies = async () => {
      await store().durable();
      return under().sharedBodies();
    };
    const onlyLetter = async (name: string, now = NOW) => {
      const { letters } = await store().fetch(name, 10, now);
      expect(letters).toHaveLength(1);
      return letters[0]!;
    };

    beforeEach(async () => {
      for (const name of names) await store().register(komrade(name));
    });

    it('stores the body once for N recipients, each with its own envelope', async () => {
      const id = await store().depositShared({ body, envelopes }, options);
      expect(id).toHaveLength(16);
      expect(await bodies()).toEqual({ count: 1, bytes: body.length });
      for (const [i, name] of names.entries()) {
        const letter = await onlyLetter(name);
        expect(hex(letter.sealed)).toBe(hex(Uint8Array.of(i, 7, 7)));
        expect(hex(letter.body!)).toBe(hex(body));
        expect(letter.receivedAt).toBe(NOW);
      }
      // A second message is a second body; ordinary letters carry none.
      await store().depositShared({ body: randomBytes(10), envelopes }, options);
      await store().deposit([{ to: 'ann', sealed: Uint8Array.of(9) }], options);
      expect(await bodies()).toEqual({ count: 2, bytes: body.length + 10 });
      const { letters } = await store().fetch('ann', 10, NOW);
      expect(letters.map((l) => l.body?.length)).toEqual([body.length, 10, undefined]);
      expect('body' in letters[2]!).toBe(false);
    });

    it('deletes the body exactly when the last recipient acks', async () => {
      await store().depositShared({ body, envelopes }, options);
      const ids = new Map<string, Uint8Array>();
      for (const name of names) ids.set(name, (await onlyLetter(name)).id);
      // Someone else's id, or an unknown one, deletes nothing.
      expect(await store().ack('ann', [ids.get('ben')!, randomBytes(16)])).toBe(0);
      for (const [i, name] of names.entries()) {
        expect(await bodies()).toEqual({ count: 1, bytes: body.length });
        expect(await store().ack(name, [ids.get(name)!])).toBe(1);
        expect(await store().ack(name, [ids.get(name)!])).toBe(0);
        const left = names.slice(i + 1);
        for (const other of left) expect(hex((await onlyLetter(other)).body!)).toBe(hex(body));
      }
      expect(await bodies()).toEqual({ count: 0, bytes: 0 });
    });

    it('deletes the body with its expired letters, some acked first', async () => {
      await store().depositShared({ body, envelopes }, { ...options, expiresAt: NOW + DAY });
      await store().depositShared(
        { body: randomBytes(20), envelopes: envelopes.slice(0, 2) },
        options,
      );
      await store().ack('ann', [(await store().fetch('ann', 1, NOW)).letters[0]!.id]);
      // Expired letters are never served, body or not.
      expect(
        (await store().fetch('ben', 10, NOW + DAY)).letters.map((l) => l.body?.length),
      ).toEqual([20]);
      expect(await store().sweepExpiredLetters(NOW + DAY - 1)).toBe(0);
      expect(await bodies()).toEqual({ count: 2, bytes: body.length + 20 });
      expect(await store().sweepExpiredLetters(NOW + DAY)).toBe(4);
      expect(await bodies()).toEqual({ count: 1, bytes: 20 });
      expect((await store().fetch('cat', 10, NOW)).letters).toHaveLength(0);
    });

    it('refuses a message over a recipient’s quota with MAILBOX_FULL and stores none of it', async () => {
      await store().deposit(
        [1, 2, 3, 4, 5].map((n) => ({ to: 'eve', sealed: Uint8Array.of(n) })),
        options,
      );
      expect(await codeOf(store().depositShared({ body, envelopes }, options))).toBe(
        'MAILBOX_FULL',
      );
      expect(await bodies()).toEqual({ count: 0, bytes: 0 });
      expect((await store().fetch('ann', 10, NOW)).letters).toHaveLength(0);
    });
  });
}

/**
 * The CollectiveStore contract: one namespace with komrades, append-only ordered logs, and a
 * conflicting `seq` refused.
 */
export function describeCollectiveStoreContract(label: string, factory: StoreFactory): void {
  describe(`CollectiveStore contract: ${label}`, () => {
    const store = useStore(factory);
    const event = (n: number) => ({ signed: Uint8Array.of(n, n, n), sig: randomBytes(64) });
    const genesis = event(0);

    beforeEach(async () => {
      await store().register(komrade('alice'));
      await store().createCollective({ name: 'portland', genesis, createdAt: NOW });
    });

    it('keeps events in order, genesis first, and pages them', async () => {
      for (let seq = 1; seq <= 4; seq++)
        await store().appendCollectiveEvent('portland', seq, event(seq));
      const all = await store().collectiveEvents('portland', 0, 100);
      expect(all.map((e) => e.signed[0])).toEqual([0, 1, 2, 3, 4]);
      expect(hex(all[0]!.sig)).toBe(hex(genesis.sig));
      expect((await store().collectiveEvents('portland', 2, 2)).map((e) => e.signed[0])).toEqual([
        2, 3,
      ]);
      expect(await store().collectiveEvents('portland', 5, 10)).toEqual([]);
      expect(await store().collectiveEvents('nowhere', 0, 10)).toEqual([]);
    });

    it('refuses a seq that is not the next one with COLLECTIVE_CONFLICT, keeping the first', async () => {
      const first = event(1);
      await store().appendCollectiveEvent('portland', 1, first);
      expect(await codeOf(store().appendCollectiveEvent('portland', 1, event(9)))).toBe(
        'COLLECTIVE_CONFLICT',
      );
      expect(await codeOf(store().appendCollectiveEvent('portland', 0, event(9)))).toBe(
        'COLLECTIVE_CONFLICT',
      );
      expect(await codeOf(store().appendCollectiveEvent('portland', 3, event(9)))).toBe(
        'COLLECTIVE_CONFLICT',
      );
      const events = await store().collectiveEvents('portland', 0, 10);
      expect(events.map((e) => hex(e.sig))).toEqual([genesis.sig, first.sig].map(hex));
      expect(await codeOf(store().appendCollectiveEvent('nowhere', 1, event(1)))).toBe(
        'NAME_UNKNOWN',
      );
    });

    it('lets exactly one of two simultaneous appends at one seq win', async () => {
      const results = await Promise.allSettled([
        store().appendCollectiveEvent('portland', 1, event(1)),
        store().appendCollectiveEvent('portland', 1, event(2)),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(await store().collectiveEvents('portland', 0, 10)).toHaveLength(2);
    });

    it('shares one namespace with komrades', async () => {
      expect(await store().isCollective('portland')).toBe(true);
      expect(await store().isCollective('alice')).toBe(false);
      expect(
        await codeOf(store().createCollective({ name: 'alice', genesis, createdAt: NOW })),
      ).toBe('NAME_TAKEN');
      expect(
        await codeOf(store().createCollective({ name: 'portland', genesis, createdAt: NOW })),
      ).toBe('NAME_TAKEN');
      expect(await codeOf(store().register(komrade('portland')))).toBe('NAME_TAKEN');
      expect(await store().lookup('portland')).toBeUndefined();
      expect(await store().isCollective('alice')).toBe(false);
      expect(await store().collectiveEvents('alice', 0, 10)).toEqual([]);
    });

    it('refuses look-alikes across the namespace: komrade of collective and back', async () => {
      expect(await codeOf(store().register(komrade('p0rtland')))).toBe('NAME_TAKEN');
      expect(await store().lookup('p0rtland')).toBeUndefined();
      expect(
        await codeOf(store().createCollective({ name: 'a1ice', genesis, createdAt: NOW })),
      ).toBe('NAME_TAKEN');
      expect(
        await codeOf(store().createCollective({ name: 'port_land', genesis, createdAt: NOW })),
      ).toBe('NAME_TAKEN');
      expect(await store().isCollective('a1ice')).toBe(false);
      expect(await store().isCollective('port_land')).toBe(false);
    });
  });
}

/** The Feed contract: newest first, strict paging, expiry, unique ids. */
export function describeFeedContract(label: string, factory: StoreFactory): void {
  describe(`Feed contract: ${label}`, () => {
    const store = useStore(factory);
    const post = (postedAt: number, days = 30, id = randomBytes(16)) => ({
      id,
      author: 'alice',
      postedAt,
      expiresAt: postedAt + days * DAY,
      signed: randomBytes(40),
      sig: randomBytes(64),
    });

    beforeEach(async () => {
      await store().register(komrade('alice'));
    });

    it('pages newest first, by time then id, without gaps or repeats', async () => {
      const posts = [
        post(NOW + 1),
        post(NOW + 3),
        post(
          NOW + 2,
          30,
          Uint8Array.from({ length: 16 }, () => 1),
        ),
        post(
          NOW + 2,
          30,
          Uint8Array.from({ length: 16 }, () => 2),
        ),
        post(NOW),
      ];
      for (const p of posts) await store().publish(p);
      const seen: string[] = [];
      let before: { postedAt: number; id: Uint8Array } | undefined;
      for (let i = 0; i < 5; i++) {
        const page = await store().page(NOW + 4, before, 2);
        seen.push(...page.posts.map((p) => hex(p.id)));
        const last = page.posts.at(-1);
        if (!page.more || last === undefined) break;
        before = { postedAt: last.postedAt, id: last.id };
      }
      const expected = [posts[1]!, posts[3]!, posts[2]!, posts[0]!, posts[4]!].map((p) =>
        hex(p.id),
      );
      expect(seen).toEqual(expected);
    });

    it('returns the stored bytes and metadata', async () => {
      const p = post(NOW);
      await store().publish(p);
      const [got] = (await store().page(NOW, undefined, 10)).posts;
      expect(got?.author).toBe('alice');
      expect(got?.expiresAt).toBe(p.expiresAt);
      expect(hex(got!.signed)).toBe(hex(p.signed));
      expect(hex(got!.sig)).toBe(hex(p.sig));
    });

    it('refuses a duplicate post id with POST_INVALID', async () => {
      const p = post(NOW);
      await store().publish(p);
      expect(await codeOf(store().publish({ ...post(NOW + 1), id: p.id }))).toBe('POST_INVALID');
    });

    it('hides expired posts before the sweep and deletes them in it', async () => {
      await store().publish(post(NOW, 1));
      await store().publish(post(NOW, 2));
      expect((await store().page(NOW + DAY, undefined, 10)).posts).toHaveLength(1);
      expect(await store().sweepExpiredPosts(NOW + DAY)).toBe(1);
      expect((await store().page(NOW, undefined, 10)).posts).toHaveLength(1);
    });
  });
}

/** The ReplayGuard contract: a nonce passes once per name until it is swept. */
export function describeReplayGuardContract(label: string, factory: StoreFactory): void {
  describe(`ReplayGuard contract: ${label}`, () => {
    const store = useStore(factory);

    it('accepts a nonce once per name', async () => {
      const nonce = randomBytes(16);
      expect(await store().remember('alice', nonce, NOW + 10)).toBe(true);
      expect(await store().remember('alice', nonce, NOW + 10)).toBe(false);
      expect(await store().remember('bob', nonce, NOW + 10)).toBe(true);
    });

    it('lets only one of two simultaneous uses through', async () => {
      const nonce = randomBytes(16);
      const results = await Promise.all([
        store().remember('alice', nonce, NOW + 10),
        store().remember('alice', nonce, NOW + 10),
      ]);
      expect(results.sort()).toEqual([false, true]);
    });

    it('forgets nonces once they are swept', async () => {
      const nonce = randomBytes(16);
      await store().remember('alice', nonce, NOW + 10);
      expect(await store().sweepExpiredNonces(NOW + 9)).toBe(0);
      expect(await store().sweepExpiredNonces(NOW + 10)).toBe(1);
      expect(await store().remember('alice', nonce, NOW + 20)).toBe(true);
    });
  });
}

/** The TokenLedger contract: allowances granted whole or not at all, spends once, swept by epoch. */
export function describeTokenLedgerContract(label: string, factory: StoreFactory): void {
  describe(`TokenLedger contract: ${label}`, () => {
    const store = useStore(factory);
    const EPOCH = Math.floor(NOW / DAY);
    const options = { receivedAt: NOW + 123_456, expiresAt: NOW + 21 * DAY, quota: 3 };
    const spend = (sealed: Uint8Array, inputHash = randomBytes(32), epoch = EPOCH) => ({
      epoch,
      inputHash,
      letterHash: blake2b(sealed, 32),
    });

    beforeEach(async () => {
      await store().register(komrade('bob'));
    });

    it('counts tokens per name and epoch, granting a batch whole or not at all', async () => {
      expect(await store().tokensIssued('alice', EPOCH)).toBe(0);
      expect(await store().recordIssued('alice', EPOCH, 6, 10)).toBe(4);
      expect(await store().recordIssued('alice', EPOCH, 5, 10)).toBeUndefined();
      expect(await store().tokensIssued('alice', EPOCH)).toBe(6);
      expect(await store().recordIssued('alice', EPOCH, 4, 10)).toBe(0);
      expect(await store().recordIssued('alice', EPOCH, 1, 10)).toBeUndefined();
      // Another name, another epoch: counted apart.
      expect(await store().recordIssued('bob', EPOCH, 10, 10)).toBe(0);
      expect(await store().recordIssued('alice', EPOCH + 1, 1, 10)).toBe(9);
    });

    it('lets only one of two simultaneous batches through when both do not fit', async () => {
      const results = await Promise.all([
        store().recordIssued('alice', EPOCH, 6, 10),
        store().recordIssued('alice', EPOCH, 6, 10),
      ]);
      expect(results.filter((left) => left === undefined)).toHaveLength(1);
      expect(await store().tokensIssued('alice', EPOCH)).toBe(6);
    });

    it('spends a token once and deposits its letter in the same step, rounded in time', async () => {
      const sealed = randomBytes(1_024);
      const first = spend(sealed);
      const stored = await store().spendAndDeposit(first, { to: 'bob', sealed }, options);
      expect(stored.repeated).toBe(false);
      expect(stored.id).toHaveLength(16);
      expect(stored.receivedAt).toBe(NOW);
      const { letters } = await store().fetch('bob', 10, NOW);
      expect(letters.map((l) => hex(l.id))).toEqual([hex(stored.id)]);
      expect(letters[0]?.receivedAt).toBe(NOW);

      // The same token on another letter: refused, nothing stored.
      const other = randomBytes(1_024);
      expect(
        await codeOf(
          store().spendAndDeposit(
            spend(other, first.inputHash),
            { to: 'bob', sealed: other },
            options,
          ),
        ),
      ).toBe('TOKEN_SPENT');
      // The same token in another epoch is another token.
      const later = await store().spendAndDeposit(
        spend(other, first.inputHash, EPOCH + 1),
        { to: 'bob', sealed: other },
        options,
      );
      expect(later.repeated).toBe(false);
      expect((await store().fetch('bob', 10, NOW)).letters).toHaveLength(2);
    });

    it('answers an identical retry with the same id and stores no second copy, even after the ack', async () => {
      const sealed = randomBytes(1_024);
      const token = spend(sealed);
      const first = await store().spendAndDeposit(token, { to: 'bob', sealed }, options);
      const again = await store().spendAndDeposit(
        token,
        { to: 'bob', sealed },
        {
          ...options,
          receivedAt: NOW + DAY,
        },
      );
      expect(again).toEqual({ id: first.id, receivedAt: first.receivedAt, repeated: true });
      expect((await store().fetch('bob', 10, NOW)).letters).toHaveLength(1);
      await store().ack('bob', [first.id]);
      const afterAck = await store().spendAndDeposit(token, { to: 'bob', sealed }, options);
      expect(hex(afterAck.id)).toBe(hex(first.id));
      expect(afterAck.repeated).toBe(true);
      expect((await store().fetch('bob', 10, NOW)).letters).toHaveLength(0);
    });

    it('spends nothing when the mailbox is full', async () => {
      for (let i = 0; i < 3; i++) {
        const sealed = randomBytes(64);
        await store().spendAndDeposit(spend(sealed), { to: 'bob', sealed }, options);
      }
      const sealed = randomBytes(64);
      const token = spend(sealed);
      expect(await codeOf(store().spendAndDeposit(token, { to: 'bob', sealed }, options))).toBe(
        'MAILBOX_FULL',
      );
      const { letters } = await store().fetch('bob', 10, NOW);
      await store().ack('bob', [letters[0]!.id]);
      const stored = await store().spendAndDeposit(token, { to: 'bob', sealed }, options);
      expect(stored.repeated).toBe(false);
    });

    it('sweeps spent tokens of epochs no longer accepted, and issue counts of past epochs', async () => {
      const sealed = randomBytes(64);
      const old = spend(sealed, randomBytes(32), EPOCH - 2);
      const roomy = { ...options, quota: 10 };
      await store().spendAndDeposit(old, { to: 'bob', sealed }, roomy);
      for (const epoch of [EPOCH - 1, EPOCH]) {
        await store().spendAndDeposit(
          spend(sealed, randomBytes(32), epoch),
          { to: 'bob', sealed },
          roomy,
        );
      }
      for (const epoch of [EPOCH - 2, EPOCH - 1, EPOCH]) {
        await store().recordIssued('alice', epoch, 1, 10);
      }
      expect((await store().spendAndDeposit(old, { to: 'bob', sealed }, roomy)).repeated).toBe(
        true,
      );
      expect(await store().sweepTokenEpochs(EPOCH - 1, EPOCH)).toEqual({ spent: 1, allowances: 2 });
      expect(await store().sweepTokenEpochs(EPOCH - 1, EPOCH)).toEqual({ spent: 0, allowances: 0 });
      expect(await store().tokensIssued('alice', EPOCH - 1)).toBe(0);
      expect(await store().tokensIssued('alice', EPOCH)).toBe(1);
      // The swept token is forgotten (the route refuses its epoch before the store is asked).
      expect((await store().spendAndDeposit(old, { to: 'bob', sealed }, roomy)).repeated).toBe(
        false,
      );
    });
  });
}

/** A prekey shaped as the wire admits it (the store checks no signature). */
const signedPrekey = (id: number) => ({
  id,
  publicKey: Uint8Array.of(0x05, ...randomBytes(32)),
  signature: randomBytes(64),
});
const kyberPrekey = (id: number) => ({
  id,
  publicKey: Uint8Array.of(0x08, ...randomBytes(1_568)),
  signature: randomBytes(64),
});
const oneTimePrekeys = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: from + i,
    publicKey: Uint8Array.of(0x05, ...randomBytes(32)),
  }));

/** The ratchet key update and the PrekeyStore contract: hand-outs once, spent with the token. */
export function describePrekeyStoreContract(label: string, factory: StoreFactory): void {
  describe(`Ratchet key contract: ${label}`, () => {
    const store = useStore(factory);

    it('sets a missing ratchet key once with its new signature; the same key again is a no-op', async () => {
      const legacy = { ...komrade('alice'), ratchetKey: null };
      await store().register(legacy);
      expect((await store().lookup('alice'))?.ratchetKey).toBeNull();
      const key = Uint8Array.of(0x05, ...randomBytes(32));
      const sig = randomBytes(64);
      const set = await store().setRatchetKey('alice', key, sig);
      expect(hex(set.ratchetKey!)).toBe(hex(key));
      expect(hex(set.sig)).toBe(hex(sig));
      expect(set.registeredAt).toBe(NOW);
      const again = await store().setRatchetKey('alice', key, randomBytes(64));
      expect(hex(again.sig)).toBe(hex(sig));
      const other = Uint8Array.of(0x05, ...randomBytes(32));
      expect(await codeOf(store().setRatchetKey('alice', other, randomBytes(64)))).toBe(
        'RATCHET_KEY_SET',
      );
      expect(hex((await store().lookup('alice'))!.ratchetKey!)).toBe(hex(key));
      expect(await codeOf(store().setRatchetKey('nobody', other, sig))).toBe('NAME_UNKNOWN');
    });

    it('keeps ratchet keys unique across names, as the other keys are', async () => {
      const bob = komrade('bob');
      await store().register(bob);
      await store().register({ ...komrade('carol'), ratchetKey: null });
      expect(await codeOf(store().setRatchetKey('carol', bob.ratchetKey!, randomBytes(64)))).toBe(
        'BAD_REQUEST',
      );
      expect(
        await codeOf(store().register({ ...komrade('dave'), ratchetKey: bob.ratchetKey })),
      ).toBe('BAD_REQUEST');
    });
  });

  describe(`PrekeyStore contract: ${label}`, () => {
    const store = useStore(factory);
    const EPOCH = Math.floor(NOW / DAY);
    const HOUR = Math.floor(NOW / 3_600_000);
    const limit = { hour: HOUR, perHour: 20 };
    const spend = (name = 'bob', inputHash = randomBytes(32)) => ({
      epoch: EPOCH,
      inputHash,
      letterHash: blake2b(new TextEncoder().encode(`bundle ${name}`), 32),
    });

    beforeEach(async () => {
      await store().register(komrade('bob'));
    });

    it('stores an upload, replaces signed and Kyber prekeys, adds one-time ones and counts them', async () => {
      expect(await store().storePrekeys('bob', {}, 500)).toEqual({
        oneTimeLeft: 0,
        signedPrekey: false,
        kyberPrekey: false,
      });
      expect(
        await store().storePrekeys(
          'bob',
          { signedPrekey: signedPrekey(1), oneTimePrekeys: oneTimePrekeys(1, 3) },
          500,
        ),
      ).toEqual({ oneTimeLeft: 3, signedPrekey: true, kyberPrekey: false });
      const newer = signedPrekey(2);
      expect(
        await store().storePrekeys(
          'bob',
          {
            signedPrekey: newer,
            kyberPrekey: kyberPrekey(1),
            oneTimePrekeys: oneTimePrekeys(4, 2),
          },
          500,
        ),
      ).toEqual({ oneTimeLeft: 5, signedPrekey: true, kyberPrekey: true });
      const bundle = await store().takeBundle(spend(), 'bob', limit);
      expect(bundle.signedPrekey.id).toBe(2);
      expect(hex(bundle.signedPrekey.publicKey)).toBe(hex(newer.publicKey));
      expect(hex(bundle.signedPrekey.signature)).toBe(hex(newer.signature));
      expect(bundle.kyberPrekey.publicKey).toHaveLength(1_569);
    });

    it('refuses a held or repeated one-time id, or too many, storing nothing of the upload', async () => {
      await store().storePrekeys('bob', { oneTimePrekeys: oneTimePrekeys(1, 3) }, 5);
      const held = { signedPrekey: signedPrekey(1), oneTimePrekeys: oneTimePrekeys(3, 2) };
      expect(await codeOf(store().storePrekeys('bob', held, 500))).toBe('PREKEY_ID_USED');
      const twice = { oneTimePrekeys: [...oneTimePrekeys(10, 1), ...oneTimePrekeys(10, 1)] };
      expect(await codeOf(store().storePrekeys('bob', twice, 500))).toBe('PREKEY_ID_USED');
      expect(
        await codeOf(store().storePrekeys('bob', { oneTimePrekeys: oneTimePrekeys(20, 3) }, 5)),
      ).toBe('PREKEYS_FULL');
      expect(await store().storePrekeys('bob', {}, 5)).toEqual({
        oneTimeLeft: 3,
        signedPrekey: false,
        kyberPrekey: false,
      });
      expect(await codeOf(store().storePrekeys('nobody', {}, 5))).toBe('NAME_UNKNOWN');
    });

    it('replaces every held one-time prekey with replaceOneTime, all or nothing, and only the name’s', async () => {
      await store().register(komrade('carol'));
      const prekeys = { signedPrekey: signedPrekey(1), kyberPrekey: kyberPrekey(1) };
      await store().storePrekeys('bob', { ...prekeys, oneTimePrekeys: oneTimePrekeys(1, 4) }, 500);
      await store().storePrekeys('carol', { ...prekeys, oneTimePrekeys: oneTimePrekeys(1, 2) }, 5);
      // Refused uploads delete nothing: repeated ids, or more than the limit.
      const twice = [...oneTimePrekeys(9, 1), ...oneTimePrekeys(9, 1)];
      const refused = { oneTimePrekeys: twice, replaceOneTime: true };
      expect(await codeOf(store().storePrekeys('bob', refused, 500))).toBe('PREKEY_ID_USED');
      const tooMany = { oneTimePrekeys: oneTimePrekeys(20, 6), replaceOneTime: true };
      expect(await codeOf(store().storePrekeys('bob', tooMany, 5))).toBe('PREKEYS_FULL');
      expect((await store().storePrekeys('bob', {}, 500)).oneTimeLeft).toBe(4);
      // Held ids may come again (the check is against the new set only); the limit counts it alone.
      const fresh = [...oneTimePrekeys(3, 1), ...oneTimePrekeys(50, 4)];
      expect(
        await store().storePrekeys('bob', { oneTimePrekeys: fresh, replaceOneTime: true }, 5),
      ).toEqual({ oneTimeLeft: 5, signedPrekey: true, kyberPrekey: true });
      const handed = [];
      for (let i = 0; i < 6; i++) {
        const key = (await store().takeBundle(spend(), 'bob', limit)).oneTimePrekey;
        handed.push(key === undefined ? undefined : [key.id, hex(key.publicKey)]);
      }
      expect(handed).toEqual([...fresh.map((key) => [key.id, hex(key.publicKey)]), undefined]);
      // Replacing with none empties the set; carol's stay.
      await store().storePrekeys('carol', { replaceOneTime: false }, 5);
      await store().storePrekeys('bob', { oneTimePrekeys: oneTimePrekeys(60, 2) }, 500);
      expect(await store().storePrekeys('bob', { replaceOneTime: true }, 500)).toEqual({
        oneTimeLeft: 0,
        signedPrekey: true,
        kyberPrekey: true,
      });
      expect((await store().takeBundle(spend(), 'bob', limit)).oneTimePrekey).toBeUndefined();
      expect((await store().storePrekeys('carol', {}, 5)).oneTimeLeft).toBe(2);
      await store().durable();
    });

    it('refuses a bundle without signed and Kyber prekeys, and spends nothing then', async () => {
      const token = spend();
      expect(await codeOf(store().takeBundle(token, 'bob', limit))).toBe('PREKEYS_MISSING');
      await store().storePrekeys('bob', { signedPrekey: signedPrekey(1) }, 500);
      expect(await codeOf(store().takeBundle(token, 'bob', limit))).toBe('PREKEYS_MISSING');
      await store().storePrekeys('bob', { kyberPrekey: kyberPrekey(1) }, 500);
      expect((await store().takeBundle(token, 'bob', limit)).repeated).toBe(false);
    });

    it('hands each one-time prekey out once, lowest id first, then bundles without one', async () => {
      const keys = oneTimePrekeys(7, 2);
      await store().storePrekeys(
        'bob',
        {
          signedPrekey: signedPrekey(1),
          kyberPrekey: kyberPrekey(1),
          oneTimePrekeys: [...keys].reverse(),
        },
        500,
      );
      const [first, second, third] = await Promise.all([
        store().takeBundle(spend(), 'bob', limit),
        store().takeBundle(spend(), 'bob', limit),
        store().takeBundle(spend(), 'bob', limit),
      ]);
      expect(first.oneTimePrekey?.id).toBe(7);
      expect(hex(first.oneTimePrekey!.publicKey)).toBe(hex(keys[0]!.publicKey));
      expect(second.oneTimePrekey?.id).toBe(8);
      expect(third.oneTimePrekey).toBeUndefined();
      expect((await store().storePrekeys('bob', {}, 500)).oneTimeLeft).toBe(0);
      // The ids handed out may come again in a later upload: they are gone from the store.
      await store().storePrekeys('bob', { oneTimePrekeys: oneTimePrekeys(7, 1) }, 500);
    });

    it('answers a retry with the same token and name again, without a one-time prekey', async () => {
      await store().storePrekeys(
        'bob',
        {
          signedPrekey: signedPrekey(1),
          kyberPrekey: kyberPrekey(1),
          oneTimePrekeys: oneTimePrekeys(1, 5),
        },
        500,
      );
      const token = spend();
      const first = await store().takeBundle(token, 'bob', limit);
      expect(first.oneTimePrekey?.id).toBe(1);
      const again = await store().takeBundle(token, 'bob', limit);
      expect(again.repeated).toBe(true);
      expect(again.oneTimePrekey).toBeUndefined();
      expect((await store().storePrekeys('bob', {}, 500)).oneTimeLeft).toBe(4);
      // The same token for another name, or for a letter, is spent.
      await store().register(komrade('carol'));
      await store().storePrekeys(
        'carol',
        { signedPrekey: signedPrekey(1), kyberPrekey: kyberPrekey(1) },
        500,
      );
      const forCarol = { ...spend('carol'), inputHash: token.inputHash };
      expect(await codeOf(store().takeBundle(forCarol, 'carol', limit))).toBe('TOKEN_SPENT');
      const sealed = randomBytes(1_024);
      const letter = { epoch: EPOCH, inputHash: token.inputHash, letterHash: blake2b(sealed, 32) };
      const options = { receivedAt: NOW, expiresAt: NOW + DAY, quota: 10 };
      expect(await codeOf(store().spendAndDeposit(letter, { to: 'bob', sealed }, options))).toBe(
        'TOKEN_SPENT',
      );
      // And a token spent on a letter buys no bundle.
      const paid = { ...letter, inputHash: randomBytes(32) };
      await store().spendAndDeposit(paid, { to: 'bob', sealed }, options);
      expect(
        await codeOf(store().takeBundle({ ...spend(), inputHash: paid.inputHash }, 'bob', limit)),
      ).toBe('TOKEN_SPENT');
    });

    it('hands out at most perHour one-time prekeys per name and hour, and sweeps past hours', async () => {
      await store().storePrekeys(
        'bob',
        {
          signedPrekey: signedPrekey(1),
          kyberPrekey: kyberPrekey(1),
          oneTimePrekeys: oneTimePrekeys(1, 10),
        },
        500,
      );
      const tight = { hour: HOUR, perHour: 2 };
      const ids = [];
      for (let i = 0; i < 4; i++)
        ids.push((await store().takeBundle(spend(), 'bob', tight)).oneTimePrekey?.id);
      expect(ids).toEqual([1, 2, undefined, undefined]);
      const next = { hour: HOUR + 1, perHour: 2 };
      expect((await store().takeBundle(spend(), 'bob', next)).oneTimePrekey?.id).toBe(3);
      expect(await store().sweepPrekeyHandouts(HOUR + 2)).toBe(1);
      expect(await store().sweepPrekeyHandouts(HOUR + 2)).toBe(0);
      expect((await store().storePrekeys('bob', {}, 500)).oneTimeLeft).toBe(7);
    });
  });
}

/** Runs every port's contract against one implementation. */
export function describeStoreContract(label: string, factory: StoreFactory): void {
  describeDurabilityContract(label, factory);
  describeRegistryContract(label, factory);
  describeRegistryLogContract(label, factory);
  describeMailboxContract(label, factory);
  describeSharedLetterContract(label, factory);
  describeFeedContract(label, factory);
  describeReplayGuardContract(label, factory);
  describeCollectiveStoreContract(label, factory);
  describeTokenLedgerContract(label, factory);
  describePrekeyStoreContract(label, factory);
}
