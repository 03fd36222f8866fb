/**
 * `KomradeClient` audits the registry log: every receipt needs a proof, a lie stops the client for
 * good (also after a restart), the Operator's forks are caught by `auditLog()`, and letters gossip
 * checkpoints so two komrades shown different logs find out, without losing the letter that told.
 */
import { describe, expect, it } from 'vitest';
import type { OperatorClient } from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  MemoryMerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  noteSigner,
  rootHash,
  signCheckpoint,
} from '../../common/transparency/index.js';
import {
  ID_BYTES,
  MAX_CHECKPOINT_NOTE_BYTES,
  MAX_LETTER_TEXT_BYTES,
  openSignedLetter,
  receiptLeaf,
  registryOrigin,
  signLetter,
  signReceipt,
  type Receipt,
} from '../../common/wire/index.js';
import { useClientWorld, type TestKomrade } from '../support/client-fixture.js';
import type { FakeOperator } from '../support/fake-operator.js';
import { withLogEdit, withOverrides } from '../support/operator-client-overrides.js';
import { bundleAtFake, openWith, sideRatchet } from '../support/ratchet-pair.js';

const world = useClientWorld('registry-audit-client-', (operator) => {
  operator.powBits = 2;
  operator.fetchLimit = 50;
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KomradeError) return error.code;
    throw error;
  }
  return 'resolved';
}

const bare = (receipt: Receipt): Receipt => {
  const rest = { ...receipt };
  delete rest.proof;
  return rest;
};

/**
 * The Operator as it shows one client a forked log: the real log's first `keep` leaves (all of
 * them so far by default), then `extra` (forged receipts). Every receipt it answers is proven in the fork, and its log routes answer
 * the fork; everything else is the real Operator's.
 */
function forkedView(
  real: FakeOperator,
  extra: readonly Receipt[],
  keep = real.logReceipts.length,
): OperatorClient {
  const tree = new MemoryMerkleTree();
  const index = new Map<string, number>();
  for (const receipt of [...real.logReceipts.slice(0, keep), ...extra]) {
    const leaf = leafHash(receiptLeaf(bare(receipt)));
    index.set(Buffer.from(leaf).toString('hex'), tree.size);
    tree.append(leaf);
  }
  const origin = registryOrigin(real.keys.signPublic);
  const checkpoint = () =>
    signCheckpoint(
      { origin, size: tree.size, rootHash: rootHash(tree), extensions: [] },
      noteSigner(origin, real.keys),
    );
  const proven = (receipt: Receipt): Receipt => {
    const at = index.get(Buffer.from(leafHash(receiptLeaf(bare(receipt)))).toString('hex'));
    if (at === undefined) throw new Error(`@${receipt.name} is not in the fork`);
    const hashes = inclusionProof(tree, at, tree.size);
    return {
      ...bare(receipt),
      proof: { index: at, size: tree.size, hashes, checkpoint: checkpoint() },
    };
  };
  return withOverrides(real, {
    lookup: async (name) => proven(await real.lookup(name)),
    collectiveLog: async (...args) => {
      const page = await real.collectiveLog(...args);
      return { ...page, receipts: page.receipts.map(proven) };
    },
    logCheckpoint: () => Promise.resolve(checkpoint()),
    logConsistency: (from, to) => Promise.resolve(consistencyProof(tree, from, to)),
  });
}

/** A receipt for `name` with keys the Operator chose: a targeted key swap. */
function forged(name: string): Receipt {
  const keys = generateIdentityKeys();
  return signReceipt(
    {
      name,
      signKey: keys.signPublic,
      boxKey: keys.boxPublic,
      keyHolder: 'self',
      ratchetKey: Uint8Array.of(0x05, ...keys.boxPublic),
      registeredAt: world.clock,
    },
    world.operator.keys.signSecret,
  );
}

/** `komrade` again, as a new process over the same store, talking to `operator`. */
const restarted = (komrade: TestKomrade, operator: OperatorClient = world.operator) =>
  world.client(komrade.store, komrade.keys, { operator });

describe('KomradeClient: receipts in the registry log', () => {
  it('checks its own receipt and every lookup, remembering the newest checkpoint', async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    const first = await alice.client.auditLog();
    expect(first.size).toBe(2);
    expect(first.checkpoint).toBe(world.operator.checkpointAt(2));
    await world.registered('carol');
    expect((await alice.client.lookup('carol')).name).toBe('carol');
    expect(alice.store.logCheckpoint()).toBe(world.operator.checkpointAt(3));
    expect(alice.client.logEvidence()).toBeUndefined();
  });

  it('refuses a receipt without a proof, caching nothing', async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    const unproven = withOverrides(world.operator, {
      lookup: async (name) => bare(await world.operator.lookup(name)),
    });
    const client = restarted(alice, unproven);
    expect(await codeOf(client.lookup('bob'))).toBe('OPERATOR_ERROR');
    expect(await codeOf(client.send('bob', 'hi'))).toBe('OPERATOR_ERROR');
    expect(alice.store.cachedReceipt('bob')).toBeUndefined();
    // Not evidence: the same client goes on with an Operator that answers properly.
    expect((await alice.client.lookup('bob')).name).toBe('bob');
  });

  it('refuses a registration whose answer has no proof: the name is not taken here', async () => {
    const alice = world.komrade('alice', {
      operator: withOverrides(world.operator, {
        register: async (request) => bare(await world.operator.register(request)),
      }),
    });
    expect(await codeOf(alice.client.register('alice'))).toBe('OPERATOR_ERROR');
    expect(alice.store.ownReceipt()).toBeUndefined();
    // Registered at the Operator all the same: a retry adopts it, with its proof.
    expect((await restarted(alice).register('alice')).name).toBe('alice');
  });

  it('stops for good on a tampered proof: every Operator call, after a restart too', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await world.registered('carol');
    const tampered = withOverrides(world.operator, {
      lookup: async (name) => {
        const receipt = await world.operator.lookup(name);
        const hashes = receipt.proof!.hashes.map((h) => Uint8Array.from(h));
        hashes[0]![5]! ^= 0x80;
        return { ...receipt, proof: { ...receipt.proof!, hashes } };
      },
    });
    // A letter waiting for alice before she is stopped.
    await bob.client.send('alice', 'before the lie');
    const client = restarted(alice, tampered);
    expect(await codeOf(client.lookup('carol'))).toBe('LOG_INCONSISTENT');
    expect(client.logEvidence()).toMatchObject({ kind: 'not-included', source: 'operator' });
    for (const call of [
      () => client.lookup('bob'),
      () => client.send('bob', 'hi'),
      () => client.checkInbox(),
      () => client.post('hello', 1),
      () => client.auditLog(),
    ]) {
      expect(await codeOf(call())).toBe('LOG_INCONSISTENT');
    }
    // A new process over the same store, even with an honest Operator: still stopped.
    const again = restarted(alice);
    expect(await codeOf(again.checkInbox())).toBe('LOG_INCONSISTENT');
    expect(await codeOf(again.lookup('bob'))).toBe('LOG_INCONSISTENT');
    expect(world.operator.mailboxes.get('alice')).toHaveLength(1);
    // Local reading still works; going on is the komrade's explicit choice.
    expect(again.inbox()).toEqual([]);
    again.clearLogEvidence();
    expect((await again.checkInbox()).requested).toBe(1);
  });

  it('catches the Operator forking its log for this client at the next consistency check', async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    await alice.client.auditLog();
    // Same size, another leaf for @bob: a targeted key swap shown to alice alone.
    const fork = new MemoryMerkleTree();
    fork.append(leafHash(receiptLeaf(world.operator.logReceipts[0]!)));
    fork.append(leafHash(receiptLeaf(forged('bob'))));
    const origin = registryOrigin(world.operator.keys.signPublic);
    const forkedNote = signCheckpoint(
      { origin, size: 2, rootHash: rootHash(fork), extensions: [] },
      noteSigner(origin, world.operator.keys),
    );
    const client = restarted(
      alice,
      withOverrides(world.operator, { logCheckpoint: () => Promise.resolve(forkedNote) }),
    );
    expect(await codeOf(client.auditLog())).toBe('LOG_INCONSISTENT');
    expect(client.logEvidence()).toMatchObject({
      kind: 'fork',
      source: 'operator',
      remembered: world.operator.checkpointAt(2),
      presented: forkedNote,
    });
  });

  it('catches a fork at a larger size through the consistency proof', async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    await alice.client.auditLog();
    // The fork rewrites @bob's leaf and grows past it: no proof can link it to what alice saw.
    const lying = forkedView(world.operator, [forged('bob'), forged('carol')], 1);
    expect(await codeOf(restarted(alice, lying).auditLog())).toBe('LOG_INCONSISTENT');
    expect(alice.client.logEvidence()).toMatchObject({ kind: 'inconsistent', from: 2, to: 3 });
  });

  it('refuses a collective page whose receipts lack proofs, and stops on one not in the log', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.createCollective('cell', { founders: ['bob'] });
    const stripped = withLogEdit(world.operator, (page) => ({
      ...page,
      receipts: page.receipts.map(bare),
    }));
    expect(await codeOf(restarted(bob, stripped).collective('cell'))).toBe('OPERATOR_ERROR');
    expect(bob.store.collectiveEvents('cell')).toEqual([]);
    const swapped = withLogEdit(world.operator, (page) => ({
      ...page,
      // @alice's receipt with @bob's proof: not the leaf the proof is for.
      receipts: page.receipts.map((r) => ({
        ...r,
        proof: page.receipts.find((o) => o.name !== r.name)!.proof!,
      })),
    }));
    expect(await codeOf(restarted(bob, swapped).collective('cell'))).toBe('LOG_INCONSISTENT');
    expect(bob.store.collectiveEvents('cell')).toEqual([]);
    expect(await codeOf(bob.client.collective('cell'))).toBe('LOG_INCONSISTENT');
  });
});

describe('KomradeClient: checkpoints gossiped in letters', () => {
  /** Opens a prepared letter as its recipient would. */
  async function opened(recipient: TestKomrade, sender: TestKomrade, sealed: Uint8Array) {
    const ratchet = sideRatchet(
      recipient.keys,
      recipient.name,
      (name) => bundleAtFake(world.operator, name),
      recipient.store,
    );
    const open = await openWith(ratchet, recipient, sealed, [sender]);
    if (!open.ok) throw new Error(`${open.layer}: ${open.reason}`);
    return open.letter;
  }

  it('signs its newest checkpoint into every letter, unless the text leaves no room', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.auditLog();
    const short = await alice.client.prepareLetter('bob', 'hello');
    expect(short.letter.checkpoint).toBe(world.operator.checkpointAt(2));
    expect((await opened(bob, alice, short.sealed)).checkpoint).toBe(short.letter.checkpoint);
    const longest = await alice.client.prepareLetter('bob', 'x'.repeat(MAX_LETTER_TEXT_BYTES));
    expect(longest.letter.checkpoint).toBeUndefined();
    expect(longest.sealed.length).toBe(65_536);
  });

  it('two clients shown different logs: the receiver stops, keeping the letter once', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    // The Operator shows bob a log where @carol has keys it chose; the real @carol comes later.
    const bobsView = forkedView(world.operator, [forged('carol')]);
    const bobClient = restarted(bob, bobsView);
    expect((await bobClient.auditLog()).size).toBe(3);
    await world.registered('carol');
    expect((await alice.client.auditLog()).size).toBe(3);

    await alice.client.send('bob', 'meet at the library');
    const error = await bobClient.checkInbox().then(
      () => undefined,
      (e: unknown) => e as KomradeError,
    );
    expect(error?.code).toBe('LOG_INCONSISTENT');
    expect(error?.message).toMatch(
      /two different registry logs of 3 entries \(gossip from @alice\)/,
    );
    expect(bobClient.logEvidence()).toMatchObject({
      kind: 'fork',
      source: 'gossip from @alice',
      remembered: bob.store.logCheckpoint(),
      presented: world.operator.checkpointAt(3),
    });
    // The letter itself was fine: kept once, and the Operator told to forget it.
    const held = () => bobClient.requests().flatMap((r) => r.letters.map((l) => l.text));
    expect(held()).toEqual(['meet at the library']);
    expect(world.operator.mailboxes.get('bob') ?? []).toEqual([]);
    expect(await codeOf(bobClient.checkInbox())).toBe('LOG_INCONSISTENT');
    expect(await codeOf(restarted(bob).checkInbox())).toBe('LOG_INCONSISTENT');
    expect(held()).toEqual(['meet at the library']);
  });

  it('stopped mid-batch: the letters triaged are kept once, the rest stay at the Operator', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const dave = await world.registered('dave');
    const bobsView = forkedView(world.operator, [forged('carol')]);
    const bobClient = restarted(bob, bobsView);
    await bobClient.auditLog();
    await world.registered('carol');
    // Dave's letter carries the real checkpoint (his lookup of @bob saw it): it stops bob's client.
    await dave.client.send('bob', 'first, from dave');
    await alice.client.send('bob', 'second, from alice');
    await dave.client.send('bob', 'third, from dave');
    expect(await codeOf(bobClient.checkInbox())).toBe('LOG_INCONSISTENT');
    expect(bobClient.logEvidence()).toMatchObject({ kind: 'fork', source: 'gossip from @dave' });
    const held = () => bobClient.requests().flatMap((r) => r.letters.map((l) => l.text));
    expect(held()).toEqual(['first, from dave']);
    // Alice's letter needed a lookup, refused once stopped: it and the next wait, not lost.
    expect(world.operator.mailboxes.get('bob')).toHaveLength(2);
    expect(await codeOf(bobClient.checkInbox())).toBe('LOG_INCONSISTENT');
    expect(held()).toEqual(['first, from dave']);
    expect(world.operator.mailboxes.get('bob')).toHaveLength(2);
  });

  it('a letter carries at most a bounded checkpoint, and only as text', () => {
    const keys = generateIdentityKeys();
    const letter = {
      v: 2 as const,
      kind: 'text' as const,
      from: 'alice',
      to: 'bob',
      sentAt: 1,
      id: randomBytes(ID_BYTES),
      body: 'hi',
    };
    const open = (checkpoint: unknown) =>
      openSignedLetter(signLetter({ ...letter, checkpoint } as typeof letter, keys.signSecret));
    expect(open('x'.repeat(MAX_CHECKPOINT_NOTE_BYTES)).ok).toBe(true);
    expect(open('x'.repeat(MAX_CHECKPOINT_NOTE_BYTES + 1)).ok).toBe(false);
    expect(open('').ok).toBe(false);
    expect(open(42).ok).toBe(false);
  });

  it('ignores a checkpoint in a letter that the Operator key did not sign', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await bob.client.auditLog();
    const before = bob.store.logCheckpoint();
    // Alice (or her client's store) carries a checkpoint signed by another key: her lie, not the
    // Operator's.
    const impostor = generateIdentityKeys();
    const origin = registryOrigin(world.operator.keys.signPublic);
    const tree = new MemoryMerkleTree();
    tree.append(leafHash(receiptLeaf(forged('mallory'))));
    tree.append(leafHash(receiptLeaf(forged('zed'))));
    alice.store.saveLogCheckpoint(
      signCheckpoint(
        { origin, size: 2, rootHash: rootHash(tree), extensions: [] },
        noteSigner(origin, impostor),
      ),
    );
    await alice.client.send('bob', 'hello');
    const check = await bob.client.checkInbox();
    expect(check.requested).toBe(1);
    expect(bob.client.logEvidence()).toBeUndefined();
    expect(bob.store.logCheckpoint()).toBe(before);
  });

  it('adopts a newer checkpoint a letter carries, once the Operator proves it', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await world.registered('carol');
    await alice.client.auditLog();
    expect(bob.store.logCheckpoint()).toBe(world.operator.checkpointAt(2));
    await alice.client.send('bob', 'news');
    await bob.client.checkInbox();
    expect(bob.store.logCheckpoint()).toBe(world.operator.checkpointAt(3));
    expect(bob.client.requests()[0]?.letters[0]?.text).toBe('news');
  });
});
