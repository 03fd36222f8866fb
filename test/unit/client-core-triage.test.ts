/**
 * The client core triages every fetched letter once, for every surface: what to keep (not stored
 * yet), what to drop and why (recorded where a re-delivery must be recognised), follow statements
 * applied durably, and nothing thrown but what may pass.
 */
import { describe, expect, it } from 'vitest';
import type { Triaged, WaitingLetter } from '../../client/index.js';
import { handSealed } from '../support/hand-sealed-collective.js';
import { KomradeError } from '../../common/errors/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { toBase64url, type Letter } from '../../common/wire/index.js';
import { useClientWorld, type TestKomrade } from '../support/client-fixture.js';
import { withOverrides } from '../support/operator-client-overrides.js';
import { bundleAtFake, craftedLetter, sideRatchet } from '../support/ratchet-pair.js';

const world = useClientWorld('client-core-triage-', (operator) => {
  operator.powBits = 2;
  operator.fetchLimit = 50;
});

const signerOf = (k: TestKomrade) => ({ name: k.name, signSecret: k.keys.signSecret });

/** What waits in `k`'s mailbox (left there: triage never acknowledges). */
async function waiting(k: TestKomrade): Promise<readonly WaitingLetter[]> {
  return (await world.operator.fetch(signerOf(k))).letters;
}

async function triageAll(k: TestKomrade): Promise<Triaged[]> {
  const all: Triaged[] = [];
  for (const letter of await waiting(k)) all.push(await k.client.triage(letter));
  return all;
}

/**
 * Encrypts `letter` in `from`'s real session with `to` (its own store's, as its client would),
 * signed with `signer`, and puts it straight into `to`'s mailbox (sent by `via`), as any sender
 * could.
 */
async function deliverCrafted(
  from: TestKomrade,
  to: TestKomrade,
  letter: Letter,
  signer = from.keys,
  via = from,
): Promise<void> {
  const ratchet = sideRatchet(
    from.keys,
    from.name,
    (name) => bundleAtFake(world.operator, name),
    from.store,
  );
  const sealed = await craftedLetter(ratchet, to, letter, signer, from.name);
  await world.operator.send(signerOf(via), [{ to: to.name, sealed }]);
}

/** A letter from `from` straight into `to`'s mailbox, as any sender could. */
async function deliverLetter(
  from: TestKomrade,
  to: TestKomrade,
  fields: { kind?: 'text' | 'post' | 'follow' | 'unfollow'; body?: string; sentAt?: number },
  signer = from.keys,
): Promise<Uint8Array> {
  const id = randomBytes(16);
  const letter: Letter = {
    v: 2,
    kind: fields.kind ?? 'text',
    from: from.name,
    to: to.name,
    sentAt: fields.sentAt ?? world.clock,
    id,
    body: fields.body ?? (fields.kind === 'follow' || fields.kind === 'unfollow' ? '' : 'hi'),
  };
  await deliverCrafted(from, to, letter, signer);
  return id;
}

describe('triage of letters', () => {
  it('keeps a stranger’s letter as a request with its sender’s key holder, storing nothing', async () => {
    const alice = await world.registered('alice', { keyHolder: 'telegram' });
    const bob = await world.registered('bob');
    const sent = await alice.client.send('bob', 'hello bob');
    const [triaged] = await triageAll(bob);
    expect(triaged).toMatchObject({
      action: 'keep-letter',
      senderKeyHolder: 'telegram',
      stored: { folder: 'request', receivedAt: world.clock },
    });
    if (triaged?.action !== 'keep-letter') throw new Error('kept');
    expect(toBase64url(triaged.stored.letter.id)).toBe(sent.id);
    expect(triaged.stored.letter.body).toBe('hello bob');
    // Storing is the caller's: nothing is kept, and the letter still waits at the Operator.
    expect(bob.client.requests()).toEqual([]);
    expect(await waiting(bob)).toHaveLength(1);

    bob.client.accept('alice');
    expect(await triageAll(bob)).toMatchObject([{ stored: { folder: 'inbox' } }]);
  });

  it('rejects forged, re-addressed, undecryptable and unknown senders’ letters', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const carol = await world.registered('carol');
    // Signed with a key that is not alice's registered one, in alice's real session.
    await deliverLetter(alice, bob, {}, generateIdentityKeys());
    // Written to carol, sent to bob in alice's session.
    const toCarol: Letter = {
      v: 2,
      kind: 'text',
      from: 'alice',
      to: 'carol',
      sentAt: world.clock,
      id: randomBytes(16),
      body: 'x',
    };
    await deliverCrafted(alice, bob, toCarol);
    // Garbage.
    await world.operator.send(signerOf(carol), [{ to: 'bob', sealed: randomBytes(200) }]);
    // From a name nobody registered (a session of its own keys).
    const ghost = world.komrade('ghost');
    const fromGhost = { ...toCarol, from: 'ghost', to: 'bob', id: randomBytes(16) };
    await deliverCrafted(ghost, bob, fromGhost, ghost.keys, carol);
    const rejected = { action: 'drop', reason: 'rejected' };
    expect(await triageAll(bob)).toEqual([rejected, rejected, rejected, rejected]);
  });

  it('drops a letter older than the processed ids are kept, as too old', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await deliverLetter(alice, bob, { sentAt: world.clock - 3_651 * 86_400_000 });
    expect(await triageAll(bob)).toMatchObject([
      { action: 'drop', reason: 'too-old', from: 'alice' },
    ]);
  });

  it('drops what was processed before as a duplicate', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const id = await deliverLetter(alice, bob, {});
    const [letter] = await waiting(bob);
    const first = await bob.client.triage(letter!);
    if (first.action !== 'keep-letter') throw new Error('kept');
    bob.store.saveLetters([first.stored]);
    expect(await bob.client.triage(letter!)).toEqual({
      action: 'drop',
      reason: 'duplicate',
      from: 'alice',
      id: toBase64url(id),
    });
  });

  it('drops a blocked sender’s letter and remembers it past an unblock', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    bob.client.block('alice');
    await deliverLetter(alice, bob, {});
    const [letter] = await waiting(bob);
    expect(await bob.client.triage(letter!)).toMatchObject({ action: 'drop', reason: 'blocked' });
    bob.client.unblock('alice');
    expect(await bob.client.triage(letter!)).toMatchObject({ action: 'drop', reason: 'duplicate' });
  });

  it('keeps posts only from komrades followed, and remembers unsolicited ones', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await deliverLetter(alice, bob, { kind: 'post', body: 'news' });
    const [post] = await waiting(bob);
    expect(await bob.client.triage(post!)).toMatchObject({ action: 'drop', reason: 'unsolicited' });
    expect(await bob.client.triage(post!)).toMatchObject({ action: 'drop', reason: 'duplicate' });

    await bob.client.follow('alice');
    await deliverLetter(alice, bob, { kind: 'post', body: 'more news' });
    const fresh = (await waiting(bob)).at(-1)!;
    expect(await bob.client.triage(fresh)).toMatchObject({
      action: 'keep-letter',
      stored: { folder: 'inbox', letter: { kind: 'post', body: 'more news' } },
    });
  });

  it('applies follow statements durably: added, then duplicate, stale or removed', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await deliverLetter(alice, bob, { kind: 'follow' });
    const [follow] = await waiting(bob);
    expect(await bob.client.triage(follow!)).toEqual({
      action: 'follow',
      from: 'alice',
      outcome: 'added',
    });
    // Applied, not merely reported: a new client over the same store sees the follower.
    expect(world.client(bob.store, bob.keys).followers()).toEqual(['alice']);
    expect(await bob.client.triage(follow!)).toMatchObject({ action: 'drop', reason: 'duplicate' });

    await deliverLetter(alice, bob, { kind: 'unfollow', sentAt: world.clock - 10 });
    await deliverLetter(alice, bob, { kind: 'unfollow', sentAt: world.clock + 10 });
    const [, older, newer] = await waiting(bob);
    expect(await bob.client.triage(older!)).toMatchObject({ action: 'drop', reason: 'stale' });
    expect(await bob.client.triage(newer!)).toEqual({
      action: 'follow',
      from: 'alice',
      outcome: 'removed',
    });
    expect(bob.client.followers()).toEqual([]);
  });

  it('throws what may pass, so the letter stays at the Operator', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.send('bob', 'hello');
    const [letter] = await waiting(bob);
    const down = withOverrides(world.operator, {
      lookup: () => Promise.reject(new KomradeError('OPERATOR_UNREACHABLE', 'down')),
    });
    const offline = world.client(bob.store, bob.keys, { operator: down });
    await expect(offline.triage(letter!)).rejects.toMatchObject({ code: 'OPERATOR_UNREACHABLE' });
    // Nothing was recorded: once the Operator answers, the letter is kept.
    expect(await bob.client.triage(letter!)).toMatchObject({ action: 'keep-letter' });
  });
});

describe('triage of collective messages', () => {
  async function portland() {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await alice.client.createCollective('portland', { founders: ['bob'] });
    return { alice, bob };
  }

  it('keeps a member’s message, verified, with the form the store takes', async () => {
    const { alice, bob } = await portland();
    const sent = await alice.client.sendToCollective('portland', 'Assembly Sunday.');
    const [triaged] = await triageAll(bob);
    expect(triaged).toMatchObject({
      action: 'keep-collective',
      message: { collective: 'portland', from: 'alice', id: sent.id, text: 'Assembly Sunday.' },
    });
    if (triaged?.action !== 'keep-collective') throw new Error('kept');
    expect(bob.client.collectiveMessages('portland')).toEqual([]);
    expect(bob.store.saveCollectiveMessages([triaged.stored])).toHaveLength(1);
    expect(bob.client.collectiveMessages('portland')).toEqual([triaged.message]);
  });

  it('drops a blocked member’s message, as the bots always did', async () => {
    const { alice, bob } = await portland();
    bob.client.block('alice');
    await alice.client.sendToCollective('portland', 'hear me');
    expect(await triageAll(bob)).toMatchObject([
      { action: 'drop', reason: 'blocked', from: 'alice' },
    ]);
    expect(await bob.client.checkInbox()).toMatchObject({ blocked: 1, collective: 0 });
  });

  it('rejects a message from someone who is not a member', async () => {
    const { bob } = await portland();
    const mallory = await world.registered('mallory');
    // Made in mallory's own session with bob: only her non-membership is wrong.
    const { sealed } = await handSealed(
      mallory,
      {
        v: 1,
        collective: 'portland',
        from: 'mallory',
        sentAt: world.clock,
        id: randomBytes(16),
        text: 'trust me',
      },
      mallory.keys.signSecret,
      [bob],
    );
    const key = sealed.keys[0]!;
    // Triage judges what it is given: no Operator needed to hand it over.
    const triaged = await bob.client.triage({
      id: randomBytes(16),
      sealed: key.sealed,
      body: sealed.body,
      receivedAt: world.clock,
    });
    expect(triaged).toEqual({ action: 'drop', reason: 'rejected' });
  });
});
