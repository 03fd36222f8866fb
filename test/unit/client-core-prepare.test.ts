/**
 * The client core prepares what every surface sends: a letter, a follow statement, a post to
 * followers, a collective message. Every check runs there, once, and nothing reaches the Operator.
 */
import { describe, expect, it } from 'vitest';
import { renderSent } from '../../adapters/cli/render-collective.js';
import type { OperatorClient } from '../../client/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { MAX_LETTER_TEXT_BYTES, signReceipt } from '../../common/wire/index.js';
import { useClientWorld, type TestKomrade } from '../support/client-fixture.js';
import { withOverrides } from '../support/operator-client-overrides.js';
import { bundleAtFake, openWith, sideRatchet } from '../support/ratchet-pair.js';

const world = useClientWorld('client-core-prepare-', (operator) => {
  operator.powBits = 2;
  operator.fetchLimit = 50;
});

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

/** The shared Operator, except that it accepts sealed letters of at most `bytes`. */
const lowLimit = (bytes: number): OperatorClient =>
  withOverrides(world.operator, {
    info: async () => {
      const info = await world.operator.info();
      return { ...info, limits: { ...info.limits, sealedLetterBytes: bytes } };
    },
  });

/** Registers `name` with an all-zero (low-order) box key, signed by the Operator as any other. */
async function zeroKeyed(name: string): Promise<void> {
  await world.registered(name);
  const receipt = world.operator.receipts.get(name)!;
  world.operator.receipts.set(
    name,
    signReceipt({ ...receipt, boxKey: new Uint8Array(32) }, world.operator.keys.signSecret),
  );
}

const mailOf = (name: string) => world.operator.mailboxes.get(name) ?? [];

/** Opens and verifies a prepared letter as its recipient would (its own store's sessions). */
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

describe('prepareLetter', () => {
  it('signs and seals a letter its recipient can open, and sends nothing', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const prepared = await alice.client.prepareLetter('@Bob', 'hello bob');
    expect(prepared.to).toBe('bob');
    expect(prepared.letter).toMatchObject({ kind: 'text', from: 'alice', to: 'bob' });
    expect(prepared.letter.sentAt).toBe(world.clock);
    expect(await opened(bob, alice, prepared.sealed)).toEqual(prepared.letter);
    expect(mailOf('bob')).toEqual([]);
    // Preparing is not writing: bob is not accepted yet.
    expect(alice.client.contacts()).toEqual([]);
  });

  it('keeps the id and time a retrying caller gives', async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    const id = randomBytes(16);
    const prepared = await alice.client.prepareLetter('bob', 'again', { id, sentAt: 42 });
    expect(prepared.letter.id).toEqual(id);
    expect(prepared.letter.sentAt).toBe(42);
  });

  it('refuses a bad name, yourself, blank or oversized text, and strangers', async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    const refused = (to: string, text: string) => codeOf(alice.client.prepareLetter(to, text));
    expect(await refused('b!ob', 'hi')).toBe('NAME_INVALID');
    expect(await refused('@alice', 'hi')).toBe('USAGE');
    expect(await refused('bob', '')).toBe('EMPTY_MESSAGE');
    expect(await refused('bob', ' \n\t ')).toBe('EMPTY_MESSAGE');
    expect(await refused('bob', '\u200b\u00a0')).toBe('EMPTY_MESSAGE');
    expect(await refused('bob', 'x'.repeat(MAX_LETTER_TEXT_BYTES + 1))).toBe('LETTER_TOO_LARGE');
    expect(await refused('nobody', 'hi')).toBe('NAME_UNKNOWN');
    expect(await codeOf(world.komrade('carol').client.prepareLetter('bob', 'hi'))).toBe(
      'NOT_REGISTERED',
    );
  });

  it("measures the sealed letter against the Operator's own limit, not the protocol ceiling", async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    // 4,096: a first message (its PQXDH header) needs that class, however short the text.
    const client = world.client(alice.store, alice.keys, { operator: lowLimit(4_096) });
    expect(await codeOf(client.prepareLetter('bob', 'x'.repeat(3_000)))).toBe('LETTER_TOO_LARGE');
    // Refused before the ratchet moved: no bundle was fetched for it, no session started.
    expect(alice.store.ratchetSession('bob')).toBeUndefined();
    expect((await client.prepareLetter('bob', 'short')).sealed.length).toBeLessThanOrEqual(4_096);
  });

  it('refuses a recipient whose registered box key nothing can be sealed to', async () => {
    const alice = await world.registered('alice');
    await zeroKeyed('zed');
    expect(await codeOf(alice.client.prepareLetter('zed', 'hello'))).toBe('KEY_INVALID');
  });
});

describe('prepareStatement', () => {
  it('dates each follow or unfollow after the previous one, across restarts', async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    const first = await alice.client.prepareStatement('bob', 'follow');
    const second = await alice.client.prepareStatement('bob', 'unfollow');
    expect(first.letter).toMatchObject({ kind: 'follow', body: '', sentAt: world.clock });
    expect(second.letter).toMatchObject({ kind: 'unfollow', sentAt: world.clock + 1 });
    // A bot restarted within the same millisecond, or with its clock set back, keeps the order.
    const restarted = world.client(alice.store, alice.keys);
    world.clock -= 5_000;
    const third = await restarted.prepareStatement('bob', 'follow');
    expect(third.letter.sentAt).toBe(second.letter.sentAt + 1);
    expect(mailOf('bob')).toEqual([]);
  });

  it('refuses yourself and strangers without using up a time', async () => {
    const alice = await world.registered('alice');
    await world.registered('bob');
    expect(await codeOf(alice.client.prepareStatement('alice', 'follow'))).toBe('USAGE');
    expect(await codeOf(alice.client.prepareStatement('nobody', 'follow'))).toBe('NAME_UNKNOWN');
    expect((await alice.client.prepareStatement('bob', 'follow')).letter.sentAt).toBe(world.clock);
  });

  it('applies at the recipient in the order prepared', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const follow = await alice.client.prepareStatement('bob', 'follow');
    const unfollow = await alice.client.prepareStatement('bob', 'unfollow');
    // Delivered in the wrong order: the newer statement still wins.
    const signer = { name: 'alice', signSecret: alice.keys.signSecret };
    await world.operator.send(signer, [{ to: 'bob', sealed: unfollow.sealed }]);
    await world.operator.send(signer, [{ to: 'bob', sealed: follow.sealed }]);
    expect(await bob.client.checkInbox()).toMatchObject({ follows: 1, stale: 1 });
    expect(bob.client.followers()).toEqual([]);
  });
});

describe('preparePost', () => {
  it('seals one post letter per follower, skipping the gone and reporting the unsealable', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const carol = await world.registered('carol');
    await zeroKeyed('zed');
    for (const follower of [bob, carol]) await follower.client.follow('alice');
    await alice.client.checkInbox();
    alice.store.addFollower('zed', world.clock);
    alice.store.addFollower('ghost', world.clock);

    const post = await alice.client.preparePost('to all who follow');
    expect(post.letters.map((l) => l.to)).toEqual(['bob', 'carol']);
    expect(post.skipped).toEqual(['ghost']);
    expect(post.failed.map((f) => [f.name, f.code])).toEqual([['zed', 'KEY_INVALID']]);
    for (const letter of post.letters) {
      expect(letter.letter).toMatchObject({ kind: 'post', id: post.id, sentAt: post.sentAt });
    }
    expect((await opened(carol, alice, post.letters[1]!.sealed)).body).toBe('to all who follow');
    expect(mailOf('bob')).toEqual([]);
  });

  it('refuses a blank or oversized post before anything is sealed', async () => {
    const alice = await world.registered('alice');
    expect(await codeOf(alice.client.preparePost('   '))).toBe('EMPTY_MESSAGE');
    expect(await codeOf(alice.client.preparePost('x'.repeat(9_000)))).toBe('POST_INVALID');
  });
});

describe('prepareCollectiveMessage and resealCollectiveMessage', () => {
  async function portland() {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const carol = await world.registered('carol');
    await alice.client.createCollective('portland', { founders: ['bob'] });
    return { alice, bob, carol };
  }

  it('seals once for every other member, and sends nothing', async () => {
    const { alice, bob } = await portland();
    const prepared = await alice.client.prepareCollectiveMessage('@portland', 'Assembly Sunday.');
    expect(prepared.recipients).toBe(1);
    expect(prepared.failed).toEqual([]);
    expect(prepared.message).toMatchObject({ collective: 'portland', from: 'alice' });
    expect(prepared.sealed?.keys.map((k) => k.to)).toEqual(['bob']);
    const key = prepared.sealed!.keys[0]!;
    const open = await bob.client.openCollectiveLetter(
      { id: randomBytes(16), sealed: key.sealed, body: prepared.sealed!.body },
      world.clock,
    );
    expect(open.ok && open.value.text).toBe('Assembly Sunday.');
    expect(mailOf('bob')).toEqual([]);
    expect(alice.client.collectiveMessages('portland')).toEqual([]);
  });

  it('says nobody else is a member with recipients 0 and nothing sealed', async () => {
    const alice = await world.registered('alice');
    await alice.client.createCollective('solo');
    const prepared = await alice.client.prepareCollectiveMessage('solo', 'anyone?');
    expect(prepared).toMatchObject({ sealed: undefined, recipients: 0, failed: [] });
    // Sending says so rather than failing, on the CLI as in the bots.
    const sent = await alice.client.sendToCollective('solo', 'anyone?');
    expect(sent).toMatchObject({ collective: 'solo', recipients: 0, failed: [] });
    expect(renderSent(sent)).toBe('Nobody else is a member of @solo yet; nothing was sent.');
    expect(alice.client.collectiveMessages('solo')).toEqual([]);
  });

  it("refuses outsiders, blank text, and a sealed message over the Operator's limit", async () => {
    const { alice, carol } = await portland();
    expect(await codeOf(carol.client.prepareCollectiveMessage('portland', 'hi'))).toBe(
      'NOT_MEMBER',
    );
    expect(await codeOf(alice.client.prepareCollectiveMessage('portland', '\n'))).toBe(
      'EMPTY_MESSAGE',
    );
    const client = world.client(alice.store, alice.keys, { operator: lowLimit(1_024) });
    expect(await codeOf(client.prepareCollectiveMessage('portland', 'x'.repeat(2_000)))).toBe(
      'LETTER_TOO_LARGE',
    );
  });

  it('reseals for the members of now: same message, new members in, nobody left is undefined', async () => {
    const { alice, bob, carol } = await portland();
    const prepared = await alice.client.prepareCollectiveMessage('portland', 'welcome');
    await carol.client.requestToJoin('portland');
    world.clock += 1_000;
    await bob.client.vouch('portland', 'carol');
    const resealed = await alice.client.resealCollectiveMessage(prepared.message);
    expect(resealed?.sealed.keys.map((k) => k.to).sort()).toEqual(['bob', 'carol']);
    const key = resealed!.sealed.keys.find((k) => k.to === 'carol')!;
    const open = await carol.client.openCollectiveLetter(
      { id: randomBytes(16), sealed: key.sealed, body: resealed!.sealed.body },
      world.clock,
    );
    expect(open.ok && open.value).toMatchObject({
      collective: prepared.message.collective,
      from: prepared.message.from,
      sentAt: prepared.message.sentAt,
      text: prepared.message.text,
    });

    // Not anyone else's message, and not once its sender is out.
    expect(await codeOf(bob.client.resealCollectiveMessage(prepared.message))).toBe('USAGE');
    await bob.client.leave('portland');
    await carol.client.leave('portland');
    expect(await alice.client.resealCollectiveMessage(prepared.message)).toBeUndefined();
    await alice.client.leave('portland');
    expect(await codeOf(alice.client.resealCollectiveMessage(prepared.message))).toBe('NOT_MEMBER');
  });
});
