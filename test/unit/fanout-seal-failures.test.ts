/**
 * A fan-out (a post to followers, a collective message) goes on when one recipient's registered
 * key cannot be sealed to: that recipient is reported with a reason, the others get it.
 */
import { describe, expect, it } from 'vitest';
import { isRecipientFault } from '../../client/core/recipient-failure.js';
import { sealToMembers } from '../../client/core/seal-to-members.js';
import { openCollectiveMessage } from '../../common/collectives/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { signReceipt } from '../../common/wire/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { useClientWorld } from '../support/client-fixture.js';

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
  it('reports a member whose box key is all zeros and still seals to the others', () => {
    const alice = generateIdentityKeys();
    const bob = generateIdentityKeys();
    const message = {
      v: 1 as const,
      collective: 'club',
      from: 'alice',
      sentAt: world.clock,
      id: randomBytes(16),
      text: 'meeting at eight',
    };
    const { sealed, failed } = sealToMembers(message, alice.signSecret, [
      { name: 'bob', boxKey: bob.boxPublic },
      { name: 'zed', boxKey: new Uint8Array(32) },
      { name: 'gone', error: new KomradeError('OPERATOR_ERROR', 'bad receipt') },
    ]);
    expect(failed.map((f) => [f.name, f.code])).toEqual([
      ['zed', 'KEY_INVALID'],
      ['gone', 'OPERATOR_ERROR'],
    ]);
    // The Operator wants an envelope for every member: each still has one.
    expect(sealed.keys.map((k) => k.to)).toEqual(['bob', 'zed', 'gone']);
    const forBob = sealed.keys[0]!;
    const opened = openCollectiveMessage(forBob.sealed, sealed.body, bob);
    expect(opened.ok && opened.value.message.text).toBe('meeting at eight');
  });

  it("still fails the whole send for a failure that is not one member's", () => {
    expect(isRecipientFault(new KomradeError('OPERATOR_UNREACHABLE', 'down'))).toBe(false);
    expect(isRecipientFault(new KomradeError('LETTER_TOO_LARGE', 'big'))).toBe(false);
    expect(isRecipientFault(new KomradeError('KEY_INVALID', 'bad key'))).toBe(true);
  });
});
