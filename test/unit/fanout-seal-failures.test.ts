/**
 * A fan-out (a post to followers, a collective message) goes on when one recipient's registered
 * key cannot be sealed to: that recipient is reported with a reason, the others get it.
 */
import { describe, expect, it } from 'vitest';
import { isRecipientFault } from '../../client/core/recipient-failure.js';
import { sealToMembers } from '../../client/core/seal-to-members.js';
import { openCollectiveBody, openKeyEnvelope } from '../../common/collectives/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES, signReceipt } from '../../common/wire/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { useClientWorld } from '../support/client-fixture.js';
import { closeParties, ratchetParties, type RatchetParty } from '../support/ratchet-pair.js';

const world = useClientWorld('komrade-fanout-', (operator) => {
  operator.powBits = 2;
  operator.fetchLimit = 50;
});

/** Registers `name` with an all-zero (low-order) box key, signed by the Operator as any other. */
async function zeroKeyed(name: string): Promise<void> {
  const { keys } = await world.registered(name);
  const receipt = world.operator.receipts.get(name)!;
  world.operator.receipts.set(
    name,
    signReceipt({ ...receipt, boxKey: new Uint8Array(32) }, world.operator.keys.signSecret),
  );
  keys.boxSecret.fill(0);
}

const unsealable = ['KEY_INVALID', 'OPERATOR_ERROR'];

describe('posting to followers', () => {
  it('skips a follower whose box key is all zeros, with a reason, and posts to the rest', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const carol = await world.registered('carol');
    await zeroKeyed('zed');
    for (const follower of [bob, carol]) {
      await follower.client.follow('alice');
    }
    alice.store.addFollower('zed', world.clock);
    await alice.client.checkInbox();
    expect(alice.client.followers()).toEqual(['bob', 'carol', 'zed']);

    const sent = await alice.client.postToFollowers('to all who follow');
    expect(sent.followers).toEqual(['bob', 'carol']);
    expect(sent.skipped).toEqual([]);
    expect(sent.failed).toHaveLength(1);
    expect(sent.failed[0]?.name).toBe('zed');
    expect(unsealable).toContain(sent.failed[0]?.code);
    expect(sent.failed[0]?.reason).toContain('@zed');
    // No key in the reason.
    expect(sent.failed[0]?.reason).not.toMatch(/[A-Za-z0-9_-]{40,}/);

    for (const follower of [bob, carol]) {
      expect(await follower.client.checkInbox()).toMatchObject({ posts: 1 });
      expect(follower.client.inbox().map((l) => [l.kind, l.text])).toEqual([
        ['post', 'to all who follow'],
      ]);
    }
    expect(world.operator.mailboxes.get('zed') ?? []).toEqual([]);
  });

  it('a letter to the zero-keyed komrade alone fails with KEY_INVALID, nothing sent', async () => {
    const alice = await world.registered('alice');
    await zeroKeyed('zed');
    await expect(alice.client.send('zed', 'hello')).rejects.toMatchObject({
      code: expect.stringMatching(/^(KEY_INVALID|OPERATOR_ERROR)$/) as unknown,
    });
    expect(world.operator.mailboxes.get('zed') ?? []).toEqual([]);
  });
});

describe('sealing a collective message to its members', () => {
  // The log's rules keep unusable keys out of a collective, but the engine seals to the keys it
  // looks up at sending time, which a misbehaving Operator controls.
  it('reports a member whose box key is all zeros, or who has no ratchet key, and seals to the others', async () => {
    const parties = ratchetParties(['alice', 'bob']);
    const [alice, bob] = parties as [RatchetParty, RatchetParty];
    try {
      const message = {
        v: 1 as const,
        collective: 'club',
        from: 'alice',
        sentAt: world.clock,
        id: randomBytes(16),
        text: 'meeting at eight',
      };
      const { sealed, failed } = await sealToMembers(
        message,
        alice.keys.signSecret,
        [
          { name: 'bob', boxKey: bob.keys.boxPublic, ratchetKey: bob.peer.ratchetKey },
          { name: 'zed', boxKey: new Uint8Array(32), ratchetKey: bob.peer.ratchetKey },
          { name: 'old', boxKey: bob.keys.boxPublic, ratchetKey: null },
          { name: 'gone', error: new KomradeError('OPERATOR_ERROR', 'bad receipt') },
        ],
        alice.ratchet,
      );
      expect(failed.map((f) => [f.name, f.code])).toEqual([
        ['zed', 'KEY_INVALID'],
        ['old', 'KEY_INVALID'],
        ['gone', 'OPERATOR_ERROR'],
      ]);
      // The Operator wants an envelope for every member: each still has one, of a fixed length.
      expect(sealed.keys.map((k) => k.to)).toEqual(['bob', 'zed', 'old', 'gone']);
      expect(sealed.keys.map((k) => k.sealed.length)).toEqual(
        Array(4).fill(COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES),
      );
      const forBob = sealed.keys[0]!;
      const envelope = openKeyEnvelope(forBob.sealed, bob.keys);
      if (!envelope.ok) throw envelope.error;
      const decrypted = await bob.ratchet.decrypt(
        alice.peer,
        envelope.value,
        randomBytes(16),
        forBob.sealed,
      );
      if (decrypted.status !== 'opened') throw new Error(decrypted.status);
      const opened = openCollectiveBody(decrypted.plaintext, sealed.body, 'alice');
      expect(opened.ok && opened.value.message.text).toBe('meeting at eight');
      // The decoys open for nobody (bob's keys stood in for 'old', whose envelope is a decoy).
      expect(openKeyEnvelope(sealed.keys[2]!.sealed, bob.keys).ok).toBe(false);
    } finally {
      closeParties(parties);
    }
  });

  it("still fails the whole send for a failure that is not one member's", () => {
    expect(isRecipientFault(new KomradeError('OPERATOR_UNREACHABLE', 'down'))).toBe(false);
    expect(isRecipientFault(new KomradeError('LETTER_TOO_LARGE', 'big'))).toBe(false);
    expect(isRecipientFault(new KomradeError('KEY_INVALID', 'bad key'))).toBe(true);
  });
});
