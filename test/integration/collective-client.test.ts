/**
 * Collectives end to end through the engine: real KomradeClients with SQLite stores against a real
 * Operator process over loopback HTTP. Growth by vouching, an amendment by vote, messages, a log
 * the Operator tampers with, a non-member's message, and twenty members acting at once.
 */
import { describe, expect, it } from 'vitest';
import type { CollectiveLogPage } from '../../client/index.js';
import {
  DEFAULT_CONSTITUTION,
  decodeCollectiveEvent,
  foldLog,
  signCollectiveEvent,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { verifyReceipt, type Receipt } from '../../common/wire/index.js';
import { handSealed } from '../support/hand-sealed-collective.js';
import { withLogEdit } from '../support/operator-client-overrides.js';
import { useOperatorKomrades, type HttpKomrade } from '../support/operator-komrades.js';

const { http, storeFor, clientOf, unique, registered } = useOperatorKomrades({
  powBits: 4,
  tempPrefix: 'komrade-collectives-',
  connections: 64,
});

/** The same identity and store, through an Operator client whose log pages `edit` bends. */
const tampered = (k: HttpKomrade, edit: (page: CollectiveLogPage) => CollectiveLogPage) =>
  clientOf(withLogEdit(http(), edit), k.store, k.keys);

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

/** The whole log as the Operator serves it to `k`, and how many events of each kind. */
async function operatorLog(k: HttpKomrade, collective: string) {
  const events: SignedCollectiveEvent[] = [];
  const receipts = new Map<string, Receipt>();
  for (;;) {
    const page = await k.http.collectiveLog(k.signer, collective, events.length);
    events.push(...page.events);
    for (const r of page.receipts) receipts.set(r.name, r);
    if (page.events.length === 0 || events.length >= page.length) break;
  }
  const kinds = new Map<string, number>();
  for (const e of events) {
    const decoded = decodeCollectiveEvent(e.signed);
    if (decoded.ok) kinds.set(decoded.value.kind, (kinds.get(decoded.value.kind) ?? 0) + 1);
  }
  return { events, receipts, kinds };
}

describe('collectives against a real Operator', () => {
  it('grows by vouching, raises its quorum by vote, and carries messages', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const carol = await registered('carol');
    const dave = await registered('dave');
    const name = unique('portland');

    const progress: number[] = [];
    const created = await alice.client.createCollective(`@${name}`, {
      founders: [bob.name],
      onSolving: ({ bits }) => progress.push(bits),
    });
    expect(progress).toEqual([4]);
    expect(created).toMatchObject({ name, standing: 'member', length: 1 });
    expect(created.members.map((m) => m.name)).toEqual([alice.name, bob.name].sort());
    expect(await codeOf(carol.client.collective(name))).toBe('NOT_MEMBER');

    // Carol asks; one vouch is the quorum while the collective is small.
    expect((await carol.client.requestToJoin(name, 'from the tenants union')).standing).toBe(
      'candidate',
    );
    expect((await bob.client.collective(name)).pending).toEqual([
      expect.objectContaining({ candidate: carol.name, vouchers: [], quorum: 1 }),
    ]);
    expect(await alice.client.vouch(name, carol.name)).toMatchObject({
      admitted: true,
      vouchers: [alice.name],
      quorum: 1,
    });
    expect((await carol.client.collective(name)).standing).toBe('member');

    // Raise the quorum to 2: more than half of three members must vote yes.
    const proposal = await carol.client.propose(name, {
      action: 'amend',
      constitution: { ...DEFAULT_CONSTITUTION, quorum: { fixed: 2 } },
    });
    expect(proposal).toMatchObject({ proposer: carol.name, required: 2 });
    expect(await alice.client.vote(name, proposal.id, true)).toMatchObject({ enacted: false });
    expect(await bob.client.vote(name, proposal.id, true)).toMatchObject({
      yes: 2,
      required: 2,
      enacted: true,
    });
    expect((await carol.client.collective(name)).constitution.quorum).toEqual({ fixed: 2 });

    // Now Dave needs two vouches.
    await dave.client.requestToJoin(name);
    expect(await alice.client.vouch(name, dave.name)).toMatchObject({
      admitted: false,
      quorum: 2,
    });
    expect(await carol.client.vouch(name, dave.name)).toMatchObject({ admitted: true });
    const view = await dave.client.collective(name);
    expect(view.members.map((m) => m.name)).toEqual(
      [alice.name, bob.name, carol.name, dave.name].sort(),
    );
    expect(view.members.every((m) => m.keyHolder === 'self')).toBe(true);

    // Messages: sealed once to every member but the sender, verified on arrival.
    const sent = await alice.client.sendToCollective(name, 'Assembly on Sunday at noon.');
    expect(sent.recipients).toBe(3);
    for (const k of [bob, carol, dave]) {
      expect(await k.client.checkInbox()).toMatchObject({ collective: 1, rejected: 0 });
      expect(k.client.collectiveMessages(name)).toEqual([
        expect.objectContaining({ from: alice.name, text: 'Assembly on Sunday at noon.' }),
      ]);
      expect((await k.http.fetch(k.signer)).letters).toEqual([]);
    }
    await dave.client.sendToCollective(name, 'I will bring the banner.');
    await alice.client.checkInbox();
    expect(alice.client.collectiveMessages(name).map((m) => [m.from, m.text])).toEqual([
      [alice.name, 'Assembly on Sunday at noon.'],
      [dave.name, 'I will bring the banner.'],
    ]);
    expect(alice.client.collectives()).toEqual([name]);

    // Bob leaves: later messages are sealed to three, and Bob reads the collective as an outsider.
    await bob.client.leave(name);
    expect((await bob.client.collective(name)).standing).toBe('outsider');
    expect((await carol.client.sendToCollective(name, 'Bye Bob.')).recipients).toBe(2);
  }, 60_000);

  it('refuses a log the Operator tampered with, and stores nothing from it', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const mallory = await registered('mallory');
    const name = unique('tamper');
    await alice.client.createCollective(name, { founders: [bob.name] });
    const carol = await registered('carol');
    await carol.client.requestToJoin(name);
    await bob.client.vouch(name, carol.name);
    // Alice knows only the genesis; the Operator has three more events for her.
    expect(alice.store.collectiveEvents(name)).toHaveLength(1);

    const edits: ((page: CollectiveLogPage) => CollectiveLogPage)[] = [
      // One byte flipped inside an event.
      (page) => ({
        ...page,
        events: page.events.map((e, i) => {
          if (i !== 1) return e;
          const signed = Uint8Array.from(e.signed);
          signed[signed.length - 3]! ^= 0x01;
          return { signed, sig: e.sig };
        }),
      }),
      // An event dropped.
      (page) => ({ ...page, events: page.events.filter((_, i) => i !== 1) }),
      // An event injected: a vouch by a non-member, properly chained and signed by her.
      (page) => {
        const first = page.events[0];
        if (first === undefined) return page;
        const decoded = decodeCollectiveEvent(first.signed);
        if (!decoded.ok) return page;
        const injected = signCollectiveEvent(
          { ...decoded.value, actor: mallory.name, kind: 'vouch', body: { candidate: carol.name } },
          mallory.keys.signSecret,
        );
        return { ...page, events: [injected, ...page.events.slice(1)] };
      },
      // Someone's receipt swapped for one the pinned Operator key did not sign.
      (page) => ({
        ...page,
        receipts: page.receipts.map((r) => ({ ...r, sig: randomBytes(64) })),
      }),
    ];
    for (const edit of edits) {
      const error = await tampered(alice, edit)
        .collective(name)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'COLLECTIVE_INVALID' });
      expect(alice.store.collectiveEvents(name)).toHaveLength(1);
    }
    // The untouched log verifies and is stored.
    const honest = await alice.client.collective(name);
    expect(honest.members.map((m) => m.name)).toContain(carol.name);
    expect(alice.store.collectiveEvents(name)).toHaveLength(honest.length);
  }, 60_000);

  it("rejects a non-member's message and a forged sender, even when a member relays them", async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const carol = await registered('carol');
    const mallory = await registered('mallory');
    const name = unique('relay');
    await alice.client.createCollective(name, { founders: [bob.name, carol.name] });
    const message = (from: string, text: string) => ({
      v: 1 as const,
      collective: name,
      from,
      sentAt: Date.now(),
      id: randomBytes(16),
      text,
    });
    // The Operator only takes messages from members: Mallory's own attempt stops there.
    const own = await handSealed(mallory, message(mallory.name, 'hi'), mallory.keys.signSecret, [
      bob,
      carol,
      alice,
    ]);
    expect(await codeOf(mallory.http.sendToCollective(mallory.signer, name, own.sealed))).toBe(
      'NOT_MEMBER',
    );
    // Alice (a member, or anyone holding her credentials) relays Mallory's message (its keys in
    // Mallory's sessions), then one Mallory signed in Alice's name.
    const relayed = await handSealed(
      mallory,
      message(mallory.name, 'from outside'),
      mallory.keys.signSecret,
      [bob, carol],
    );
    await alice.http.sendToCollective(alice.signer, name, relayed.sealed);
    const forged = await handSealed(
      mallory,
      message(alice.name, 'in your name'),
      mallory.keys.signSecret,
      [bob, carol],
    );
    await alice.http.sendToCollective(alice.signer, name, forged.sealed);
    await alice.client.sendToCollective(name, 'the real one');

    for (const k of [bob, carol]) {
      expect(await k.client.checkInbox()).toMatchObject({ collective: 1, rejected: 2 });
      expect(k.client.collectiveMessages(name).map((m) => m.text)).toEqual(['the real one']);
      expect((await k.http.fetch(k.signer)).letters).toEqual([]);
    }
  }, 60_000);

  it('twenty members vouch and vote at once: one admission, one enactment, a valid log', async () => {
    const members: HttpKomrade[] = [];
    for (let i = 0; i < 20; i++) members.push(await registered(`m${i}`));
    const [first, ...others] = members;
    const name = unique('crowd');
    await first!.client.createCollective(name, { founders: others.map((m) => m.name) });
    const candidate = await registered('newcomer');
    await candidate.client.requestToJoin(name);

    const vouches = await Promise.all(members.map((m) => m.client.vouch(name, candidate.name)));
    // 20 members: the quorum is 4; only vouches made before it was met can report "pending".
    expect(vouches.filter((v) => !v.admitted).length).toBeLessThan(4);
    expect(vouches.filter((v) => v.admitted).length).toBeGreaterThan(16);
    expect((await candidate.client.collective(name)).standing).toBe('member');

    const proposal = await first!.client.propose(name, {
      action: 'amend',
      constitution: { ...DEFAULT_CONSTITUTION, votingWindowMs: 3 * 86_400_000 },
    });
    const votes = await Promise.all(members.map((m) => m.client.vote(name, proposal.id, true)));
    expect(votes.filter((v) => v.enacted).length).toBeGreaterThan(0);
    expect(votes.every((v) => v.proposal === proposal.id)).toBe(true);

    const { events, receipts, kinds } = await operatorLog(first!, name);
    expect(kinds.get('admit')).toBe(1);
    expect(kinds.get('enactment')).toBe(1);
    // Every vote that counted was cast before the enactment; none after.
    expect(kinds.get('vote')).toBeGreaterThanOrEqual(11);

    // The final log verifies from scratch with the rule engine and the signed receipts.
    const pinned = (await first!.http.info()).signKey;
    for (const r of receipts.values()) expect(verifyReceipt(r, pinned)).toBe(true);
    const folded = foldLog(events, {
      keyOf: (n) => receipts.get(n)?.signKey,
      keyHolderOf: (n) => receipts.get(n)?.keyHolder,
    });
    expect(folded.ok).toBe(true);
    if (folded.ok) {
      expect(folded.value.members).toHaveLength(21);
      expect(folded.value.constitution.votingWindowMs).toBe(3 * 86_400_000);
    }
    // A member starting from an empty store verifies the same log.
    const fresh = clientOf(http(), storeFor(unique('fresh')), members[7]!.keys);
    await fresh.register(members[7]!.name); // adopts the existing receipt: the keys are the same
    const seen = await fresh.collective(name);
    expect(seen.length).toBe(events.length);
  }, 180_000);
});
