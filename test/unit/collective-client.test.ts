/**
 * The engine's collectives against an in-memory Operator with real crypto and the real rule
 * engine: create, join, vouch, vote, messages, a forged log, concurrent members, how the retrying
 * client settles an append whose answer was lost, the local store, and the CLI's proposal options.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  proposalFromOptions,
  type ProposeOptions,
} from '../../adapters/cli/constitution-change.js';
import {
  type KomradeClient,
  RetryingOperatorClient,
  type CollectiveLogPage,
  type KeyHolder,
  type OperatorClient,
  Ratchet,
  sealToMembers,
  type MemberKey,
} from '../../client/index.js';
import {
  DEFAULT_CONSTITUTION,
  eventHash,
  sealCollectiveBody,
  sealKeyEnvelope,
  signCollectiveEvent,
  type CollectiveMessage,
  type SealedCollectiveMessage,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
  COLLECTIVE_KEY_ENVELOPE_BYTES,
  signReceipt,
} from '../../common/wire/index.js';
import { useClientWorld, type TestKomrade } from '../support/client-fixture.js';
import { withLogEdit } from '../support/operator-client-overrides.js';

const world = useClientWorld('komrade-collective-', (operator) => {
  operator.powBits = 2;
  operator.fetchLimit = 50;
});

/** Any Operator client built on the shared fake (tests wrap it to bend its answers). */
type Wrap = (inner: OperatorClient) => OperatorClient;

function komrade(name: string, wrap: Wrap = (o) => o, keyHolder: KeyHolder = 'self'): TestKomrade {
  return world.komrade(name, { operator: wrap(world.operator), keyHolder, noWait: true });
}

async function registered(name: string, keyHolder: KeyHolder = 'self'): Promise<TestKomrade> {
  const k = komrade(name, undefined, keyHolder);
  await k.client.register(name);
  return k;
}

/** The same identity and store, through another Operator client. */
function via(k: TestKomrade, wrap: Wrap): KomradeClient {
  return world.client(k.store, k.keys, { operator: wrap(world.operator), noWait: true });
}

/** The fake, with its log pages passed through `edit`. */
const tamperLog =
  (edit: (page: CollectiveLogPage) => CollectiveLogPage): Wrap =>
  (inner) =>
    withLogEdit(inner, edit);

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

/** Alice founds the collective `portland` with `others`; returns everyone. */
async function founded(...others: string[]) {
  const alice = await registered('alice');
  const rest = [];
  for (const name of others) rest.push(await registered(name));
  await alice.client.createCollective('@portland', { founders: others });
  return { alice, rest };
}

/** Founds `portland` with bob and admits dave (alice's copy stops at the genesis). */
async function withHistory() {
  const { alice, rest } = await founded('bob');
  const [bob] = rest;
  await alice.client.collective('portland');
  const dave = await registered('dave');
  await dave.client.requestToJoin('portland');
  await bob!.client.vouch('portland', 'dave');
  return { alice, bob: bob!, dave };
}

describe('collectives: create, join, vouch', () => {
  it('creates with a proof of work, founders first, and lists it locally', async () => {
    const alice = await registered('alice');
    await registered('bob');
    const solving: number[] = [];
    const view = await alice.client.createCollective('@Portland', {
      founders: ['@bob', 'alice'],
      onSolving: ({ bits }) => solving.push(bits),
    });
    expect(solving).toEqual([2]);
    expect(view).toMatchObject({
      name: 'portland',
      length: 1,
      standing: 'member',
      members: [
        { name: 'alice', keyHolder: 'self' },
        { name: 'bob', keyHolder: 'self' },
      ],
      pending: [],
      proposals: [],
    });
    expect(view.constitution).toEqual(DEFAULT_CONSTITUTION);
    expect(alice.client.collectives()).toEqual(['portland']);
    expect(alice.store.collectiveEvents('portland')).toHaveLength(1);
    expect(await codeOf(alice.client.createCollective('portland'))).toBe('NAME_TAKEN');
    expect(await codeOf(alice.client.createCollective('other', { founders: ['ghost'] }))).toBe(
      'NAME_UNKNOWN',
    );
    expect(
      await codeOf(
        alice.client.createCollective('other', {
          constitution: { ...DEFAULT_CONSTITUTION, votingWindowMs: 1 },
        }),
      ),
    ).toBe('USAGE');
  });

  it('adopts a collective an earlier attempt created before its answer was lost', async () => {
    const alice = await registered('alice');
    const lost: Wrap = (inner) =>
      new Proxy(inner, {
        get(target, property: keyof OperatorClient) {
          if (property === 'createCollective') {
            return async (...args: Parameters<OperatorClient['createCollective']>) => {
              await target.createCollective(...args);
              throw new KomradeError('NAME_TAKEN', 'the retry found it taken');
            };
          }
          const value: unknown = Reflect.get(target, property);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
    const view = await via(alice, lost).createCollective('portland');
    expect(view).toMatchObject({ name: 'portland', standing: 'member', length: 1 });
  });

  it('lets a candidate join, members vouch up to the quorum, and admits once', async () => {
    const { alice } = await founded();
    const dave = await registered('dave');
    expect(await codeOf(dave.client.collective('portland'))).toBe('NOT_MEMBER');
    world.clock += 1_000;
    const asked = await dave.client.requestToJoin('@portland', 'I organise the tenants union');
    expect(asked.standing).toBe('candidate');
    expect(dave.client.collectives()).toEqual(['portland']);
    // Asking twice says where one stands rather than failing.
    expect((await dave.client.requestToJoin('portland')).standing).toBe('candidate');

    const seen = await alice.client.collective('portland');
    expect(seen.pending).toEqual([
      expect.objectContaining({ candidate: 'dave', vouchers: [], quorum: 1, keyHolder: 'self' }),
    ]);
    world.clock += 1_000;
    const { before, after, ...vouched } = await alice.client.vouch('portland', '@dave');
    expect(vouched).toEqual({
      collective: 'portland',
      candidate: 'dave',
      vouchers: ['alice'],
      quorum: 1,
      admitted: true,
    });
    // The views the vouch was decided on and left, so nobody syncs again to see them.
    expect(before.pending.map((p) => p.candidate)).toEqual(['dave']);
    expect(after.pending).toEqual([]);
    expect(after.members.map((m) => m.name)).toContain('dave');
    expect((await dave.client.collective('portland')).standing).toBe('member');
    // Someone already admitted: reported as admitted, nothing appended.
    const length = world.operator.collectives.get('portland')!.events.length;
    expect((await alice.client.vouch('portland', 'dave')).admitted).toBe(true);
    expect(world.operator.collectives.get('portland')!.events).toHaveLength(length);
    expect(await codeOf(alice.client.vouch('portland', 'nobody'))).toBe('COLLECTIVE_RULE');
    expect(await codeOf(alice.client.vouch('portland', 'alice'))).toBe('COLLECTIVE_RULE');
  });

  it('waits for the quorum when one vouch is not enough', async () => {
    const { alice, rest } = await founded('bob', 'carol', 'dan', 'erin', 'fay');
    const [bob] = rest;
    const gus = await registered('gus');
    await gus.client.requestToJoin('portland');
    // Six members: 20% rounds up to 2.
    const first = await alice.client.vouch('portland', 'gus');
    expect(first).toMatchObject({ vouchers: ['alice'], quorum: 2, admitted: false });
    const pending = (await gus.client.collective('portland')).pending[0];
    expect(pending).toMatchObject({ candidate: 'gus', vouchers: ['alice'], quorum: 2 });
    // A second call by the same member adds nothing.
    expect(await alice.client.vouch('portland', 'gus')).toMatchObject({ admitted: false });
    const second = await bob!.client.vouch('portland', 'gus');
    expect(second).toMatchObject({ vouchers: ['alice', 'bob'], quorum: 2, admitted: true });
    expect((await gus.client.collective('portland')).members.map((m) => m.name)).toContain('gus');
  });

  it('keeps a member out who is not allowed by the key-holder rule', async () => {
    const alice = await registered('alice');
    await alice.client.createCollective('selfonly', {
      constitution: { ...DEFAULT_CONSTITUTION, allowedKeyHolders: ['self'] },
    });
    const bot = await registered('bot', 'telegram');
    // A telegram-held identity may not even ask under these rules.
    expect(await codeOf(bot.client.requestToJoin('selfonly'))).toBe('COLLECTIVE_RULE');
  });
});

describe('collectives: proposals and votes', () => {
  it('amends the quorum by vote and enacts once the threshold is met', async () => {
    const { alice, rest } = await founded('bob', 'carol');
    const [bob, carol] = rest;
    const proposal = await alice.client.propose('portland', {
      action: 'amend',
      constitution: { ...DEFAULT_CONSTITUTION, quorum: { fixed: 2 } },
    });
    expect(proposal).toMatchObject({ id: 1, proposer: 'alice', yes: [], required: 2 });
    expect((await bob!.client.collective('portland')).proposals.map((p) => p.id)).toEqual([1]);

    const first = await alice.client.vote('portland', 1, true);
    expect(first).toMatchObject({ yes: 1, no: 0, required: 2, enacted: false });
    expect(await codeOf(alice.client.vote('portland', 1, false))).toBe('COLLECTIVE_RULE');
    const no = await carol!.client.vote('portland', 1, false);
    expect(no).toMatchObject({ yes: 1, no: 1, enacted: false });
    const second = await bob!.client.vote('portland', 1, true);
    expect(second).toMatchObject({
      yes: 2,
      no: 1,
      required: 2,
      enacted: true,
      alreadyPassed: false,
    });

    const view = await carol!.client.collective('portland');
    expect(view.constitution.quorum).toEqual({ fixed: 2 });
    expect(view.proposals).toEqual([]);
    // Enacted already: every later call says so and appends nothing.
    expect(await carol!.client.vote('portland', 1, true)).toMatchObject({
      enacted: true,
      alreadyPassed: true,
    });
    expect(await alice.client.enact('portland', 1)).toMatchObject({
      enacted: true,
      alreadyPassed: true,
    });
    expect(await codeOf(alice.client.vote('portland', 99, true))).toBe('COLLECTIVE_RULE');
  });

  it('removes a member by vote; their standing turns outsider', async () => {
    const { alice, rest } = await founded('bob', 'mallory');
    const [bob, mallory] = rest;
    await mallory!.client.collective('portland');
    const removal = await alice.client.propose('portland', { action: 'remove', member: 'mallory' });
    expect(await codeOf(bob!.client.enact('portland', removal.id))).toBe('COLLECTIVE_RULE');
    await alice.client.vote('portland', removal.id, true);
    expect((await bob!.client.vote('portland', removal.id, true)).enacted).toBe(true);
    // The Operator no longer serves her the log: she sees her last verified copy, as an outsider.
    const seen = await mallory!.client.collective('portland');
    expect(seen.standing).toBe('outsider');
    expect(seen.length).toBeLessThan((await alice.client.collective('portland')).length);
    expect((await alice.client.collective('portland')).members.map((m) => m.name)).toEqual([
      'alice',
      'bob',
    ]);
    expect(await codeOf(mallory!.client.vote('portland', removal.id, false))).toBe('NOT_MEMBER');
    expect(
      await codeOf(alice.client.propose('portland', { action: 'remove', member: 'alice' })),
    ).toBe('USAGE');
  });

  it('leaves, and a candidate withdraws', async () => {
    const { alice, rest } = await founded('bob');
    const [bob] = rest;
    await bob!.client.leave('portland');
    const after = await bob!.client.collective('portland');
    expect(after.standing).toBe('outsider');
    expect(await codeOf(bob!.client.leave('portland'))).toBe('NOT_MEMBER');
    expect((await alice.client.collective('portland')).members.map((m) => m.name)).toEqual([
      'alice',
    ]);
    const dave = await registered('dave');
    await dave.client.requestToJoin('portland');
    await dave.client.leave('portland');
    expect((await alice.client.collective('portland')).pending).toEqual([]);
  });
});

/** A message of `from` to portland, as a sender signs it. */
const message = (from: string, at: number): CollectiveMessage => ({
  v: 1,
  collective: 'portland',
  from,
  sentAt: at,
  id: randomBytes(16),
  text: 'trust me',
});

/**
 * A message made by hand: signed with `signSecret`, its content key sent in `sender`'s own
 * sessions (a ratchet over the sender's store and keys, as their client has).
 */
async function forged(
  sender: TestKomrade,
  draft: CollectiveMessage,
  signSecret: Uint8Array,
  members: readonly MemberKey[],
): Promise<SealedCollectiveMessage> {
  const ratchet = new Ratchet({
    store: sender.store,
    keys: sender.keys,
    self: () => sender.name,
    fetchBundle: (name) => {
      const held = world.operator.prekeys.get(name);
      const { signedPrekey, kyberPrekey } = held ?? {};
      if (signedPrekey === undefined || kyberPrekey === undefined) {
        return Promise.reject(new KomradeError('PREKEYS_MISSING', 'none'));
      }
      return Promise.resolve({ name, signedPrekey, kyberPrekey });
    },
    now: () => world.clock,
  });
  const { sealed, failed } = await sealToMembers(draft, signSecret, members, ratchet);
  expect(failed).toEqual([]);
  return sealed;
}

/** Puts a sealed message in each recipient's mailbox at the fake Operator. */
function deliver(sealed: SealedCollectiveMessage): void {
  for (const key of sealed.keys) {
    const box = world.operator.mailboxes.get(key.to) ?? [];
    box.push({
      id: randomBytes(16),
      sealed: key.sealed,
      receivedAt: world.clock,
      body: sealed.body,
    });
    world.operator.mailboxes.set(key.to, box);
  }
}

describe('collectives: messages', () => {
  it('seals once to every member but the sender; members read it verified', async () => {
    const { alice, rest } = await founded('bob', 'carol');
    const [bob, carol] = rest;
    world.clock += 5_000;
    const sent = await alice.client.sendToCollective('@portland', 'Assembly on Sunday.');
    expect(sent).toMatchObject({ collective: 'portland', recipients: 2, sentAt: world.clock });
    expect(alice.client.collectiveMessages('portland').map((m) => m.text)).toEqual([
      'Assembly on Sunday.',
    ]);
    expect(await bob!.client.checkInbox()).toMatchObject({ collective: 1, rejected: 0 });
    expect(bob!.client.collectiveMessages('portland')).toEqual([
      expect.objectContaining({
        collective: 'portland',
        from: 'alice',
        fromKeyHolder: 'self',
        text: 'Assembly on Sunday.',
        id: sent.id,
      }),
    ]);
    await bob!.client.sendToCollective('portland', 'I will bring food.');
    expect(await carol!.client.checkInbox()).toMatchObject({ collective: 2 });
    expect(carol!.client.collectiveMessages('portland').map((m) => m.from)).toEqual([
      'alice',
      'bob',
    ]);
    expect(world.operator.mailboxes.get('carol')).toEqual([]);
    expect(bob!.client.collectives()).toEqual(['portland']);
  });

  it('reseals when membership changed while sending', async () => {
    const { alice, dave } = await withHistory();
    // Alice's copy still has two members; the Operator says three: re-sync and seal again.
    const sent = await alice.client.sendToCollective('portland', 'welcome');
    expect(sent.recipients).toBe(2);
    expect(await dave.client.checkInbox()).toMatchObject({ collective: 1 });
  });

  it('sends nothing alone; refuses empty or as an outsider', async () => {
    const alice = await registered('alice');
    await alice.client.createCollective('solo');
    // One behaviour for every surface: nobody else is a member, so nothing is sent (nor kept).
    expect(await alice.client.sendToCollective('solo', 'hello?')).toMatchObject({
      recipients: 0,
      failed: [],
    });
    expect(alice.client.collectiveMessages('solo')).toEqual([]);
    expect(await codeOf(alice.client.sendToCollective('solo', ''))).toBe('EMPTY_MESSAGE');
    const bob = await registered('bob');
    expect(await codeOf(bob.client.sendToCollective('solo', 'hi'))).toBe('NOT_MEMBER');
  });

  it("rejects a non-member's message, a forged sender and a message to a collective one left", async () => {
    const { alice, rest } = await founded('bob');
    const [bob] = rest;
    const mallory = await registered('mallory');
    const at = world.clock;
    const bobReceipt = world.operator.receipts.get('bob')!;
    const bobKey = { name: 'bob', boxKey: bobReceipt.boxKey, ratchetKey: bobReceipt.ratchetKey };
    // A non-member signs as herself; then as Alice with her own key, in her own session.
    deliver(await forged(mallory, message('mallory', at), mallory.keys.signSecret, [bobKey]));
    deliver(await forged(mallory, message('alice', at), mallory.keys.signSecret, [bobKey]));
    // Alice's signed message, passed on by Mallory in her own session: not from its sender.
    deliver(await forged(mallory, message('alice', at), alice.keys.signSecret, [bobKey]));
    // A real one, for contrast.
    deliver(await forged(alice, message('alice', at), alice.keys.signSecret, [bobKey]));
    expect(await bob!.client.checkInbox()).toMatchObject({ collective: 1, rejected: 3 });
    const s = await forged(mallory, message('mallory', at), mallory.keys.signSecret, [bobKey]);
    const opened = await bob!.client.openCollectiveLetter(
      { id: randomBytes(16), sealed: s.keys[0]!.sealed, body: s.body },
      at,
    );
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.error.message).toContain('not a member');

    await bob!.client.leave('portland');
    const late = await forged(alice, message('alice', at), alice.keys.signSecret, [bobKey]);
    const gone = await bob!.client.openCollectiveLetter(
      { id: randomBytes(16), sealed: late.keys[0]!.sealed, body: late.body },
      at,
    );
    expect(gone.ok ? 'ok' : gone.error.code).toBe('NOT_MEMBER');
  });

  it('gives a removed member no envelope, and no other envelope opens for her', async () => {
    const { alice, rest } = await founded('bob', 'carol');
    const [bob, carol] = rest;
    await alice.client.sendToCollective('portland', 'before');
    expect(await carol!.client.checkInbox()).toMatchObject({ collective: 1 });
    // Carol answers, so alice's next envelope to her continues their session.
    await carol!.client.sendToCollective('portland', 'hello from carol');
    await alice.client.checkInbox();
    await bob!.client.checkInbox();
    const removal = await alice.client.propose('portland', { action: 'remove', member: 'carol' });
    await alice.client.vote('portland', removal.id, true);
    await bob!.client.vote('portland', removal.id, true);
    world.clock += 1_000;
    const sent = await alice.client.sendToCollective('portland', 'after carol left');
    expect(sent.recipients).toBe(1);
    // Nothing for her at the Operator: one envelope, bob's.
    expect(world.operator.mailboxes.get('carol') ?? []).toEqual([]);
    const bobsCopy = world.operator.mailboxes.get('bob')!.at(-1)!;
    expect(bobsCopy.body).toBeDefined();
    // With her real store and keys, bob's envelope (and the body) does not open for her.
    const stolen = await carol!.client.openCollectiveLetter(
      { id: bobsCopy.id, sealed: bobsCopy.sealed, body: bobsCopy.body! },
      world.clock,
    );
    expect(stolen.ok).toBe(false);
    expect(await carol!.client.checkInbox()).toMatchObject({ collective: 0 });
    expect(carol!.client.collectiveMessages('portland').map((m) => m.text)).toEqual([
      'before',
      'hello from carol',
    ]);
    expect(await bob!.client.checkInbox()).toMatchObject({ collective: 1 });
  });

  it('refuses a replayed message, and an envelope moved to another member or message', async () => {
    const { alice, rest } = await founded('bob', 'carol');
    const [bob, carol] = rest;
    await alice.client.sendToCollective('portland', 'first');
    await alice.client.sendToCollective('portland', 'second');
    const [first, second] = world.operator.mailboxes.get('bob')!;
    const [carolsFirst] = world.operator.mailboxes.get('carol')!;
    expect(await bob!.client.checkInbox()).toMatchObject({ collective: 2, rejected: 0 });
    // The Operator delivers the first again under a new id: the ratchet opened it before.
    const replay = await bob!.client.openCollectiveLetter(
      { id: randomBytes(16), sealed: first!.sealed, body: first!.body! },
      world.clock,
    );
    expect(replay.ok ? 'opened' : replay.error.message).toContain('replay');
    const box = world.operator.mailboxes.get('bob') ?? [];
    box.push({ ...first!, id: randomBytes(16) });
    world.operator.mailboxes.set('bob', box);
    expect(await bob!.client.checkInbox()).toMatchObject({ collective: 0, rejected: 1 });
    // Carol's envelope handed to bob; the first message's envelope with the second's body.
    const moved = await bob!.client.openCollectiveLetter(
      { id: randomBytes(16), sealed: carolsFirst!.sealed, body: carolsFirst!.body! },
      world.clock,
    );
    expect(moved.ok).toBe(false);
    const mixed = await carol!.client.openCollectiveLetter(
      { id: randomBytes(16), sealed: carolsFirst!.sealed, body: second!.body! },
      world.clock,
    );
    expect(mixed.ok ? 'opened' : mixed.error.message).toContain('does not match its key');
    expect(bob!.client.collectiveMessages('portland').map((m) => m.text)).toEqual([
      'first',
      'second',
    ]);
  });

  it('refuses an envelope no session opens, and starts a new session with its sender', async () => {
    const { alice, rest } = await founded('bob');
    const [bob] = rest;
    await alice.client.sendToCollective('portland', 'hello');
    await bob!.client.checkInbox();
    // In alice's name, a ratchet message no session of bob's opens (lost, or made up).
    const { body } = sealCollectiveBody(message('alice', world.clock), alice.keys.signSecret);
    const junk = sealKeyEnvelope(
      { v: 2, from: 'alice', type: 'message', msg: randomBytes(220) },
      { name: 'bob', boxKey: bob!.keys.boxPublic },
    );
    deliver({ body, keys: [{ to: 'bob', sealed: junk }] });
    expect(await bob!.client.checkInbox()).toMatchObject({
      collective: 0,
      rejected: 1,
      sessionResets: [{ name: 'alice', lost: true }],
    });
    // A reset letter went to alice; once she read it, their messages open again.
    expect(world.operator.mailboxes.get('alice')).toHaveLength(1);
    await alice.client.checkInbox();
    await alice.client.sendToCollective('portland', 'again');
    expect(await bob!.client.checkInbox()).toMatchObject({ collective: 1, rejected: 0 });
  });

  it('sends key envelopes of two lengths only: first messages, then continuing sessions', async () => {
    const { alice, rest } = await founded('bob', 'carol');
    const [bob, carol] = rest;
    const lengths = (to: string) =>
      (world.operator.mailboxes.get(to) ?? []).map((letter) => letter.sealed.length);
    await alice.client.sendToCollective('portland', 'one');
    expect([...lengths('bob'), ...lengths('carol')]).toEqual([
      COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
      COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
    ]);
    await bob!.client.checkInbox();
    await carol!.client.checkInbox();
    // Bob answers in the collective: alice's session with him continues; carol's does not yet.
    await bob!.client.sendToCollective('portland', 'two');
    await alice.client.checkInbox();
    await carol!.client.checkInbox();
    await alice.client.sendToCollective('portland', 'three');
    expect(lengths('bob')).toEqual([COLLECTIVE_KEY_ENVELOPE_BYTES]);
    expect(lengths('carol')).toEqual([COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES]);
    for (const k of [bob!, carol!]) {
      expect(await k.client.checkInbox()).toMatchObject({ collective: 1, rejected: 0 });
    }
  });

  it('reports a member without a ratchet key or prekeys as failed; the others read it', async () => {
    const { alice, rest } = await founded('bob', 'carol');
    const [bob, carol] = rest;
    // Carol's prekeys are gone from the Operator (a fresh identity that never published).
    world.operator.prekeys.delete('carol');
    const sent = await alice.client.sendToCollective('portland', 'hello');
    expect(sent.recipients).toBe(1);
    expect(sent.failed).toEqual([
      expect.objectContaining({ name: 'carol', code: 'PREKEYS_MISSING' }),
    ]);
    const [decoy] = world.operator.mailboxes.get('carol')!;
    expect(decoy!.sealed.length).toBe(COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES);
    expect(await carol!.client.checkInbox()).toMatchObject({ collective: 0, rejected: 1 });
    expect(await bob!.client.checkInbox()).toMatchObject({ collective: 1 });
  });
});

describe('collectives: a log the Operator bends', () => {
  it('refuses a flipped byte, a dropped event, a forged event or a bad receipt; stores nothing', async () => {
    const { alice, bob } = await withHistory();
    const cached = alice.store.collectiveEvents('portland').length;
    const mallory = await registered('mallory');
    const bend: ((page: CollectiveLogPage) => CollectiveLogPage)[] = [
      (page) => {
        const events = page.events.map((e, i) => {
          if (i !== 0) return e;
          const signed = Uint8Array.from(e.signed);
          signed[signed.length - 2]! ^= 0x01;
          return { signed, sig: e.sig };
        });
        return { ...page, events };
      },
      (page) => ({ ...page, events: page.events.slice(1) }),
      (page) => {
        // A vouch "by" bob, signed by a non-member's key.
        const fake: SignedCollectiveEvent = signCollectiveEvent(
          {
            v: 1,
            collective: 'portland',
            seq: page.from,
            prev: eventHash(alice.store.collectiveEvents('portland').at(-1)!.signed),
            at: world.clock,
            actor: 'bob',
            kind: 'leave',
            body: {},
          },
          mallory.keys.signSecret,
        );
        return { ...page, events: [fake, ...page.events.slice(1)] };
      },
      (page) => ({
        ...page,
        receipts: [
          signReceipt(
            {
              name: 'bob',
              signKey: mallory.keys.signPublic,
              boxKey: mallory.keys.boxPublic,
              keyHolder: 'self',
              ratchetKey: null,
              registeredAt: 1,
            },
            generateIdentityKeys().signSecret,
          ),
        ],
      }),
      // Rolled back to fewer events than already verified.
      (page) => ({ ...page, events: [], length: page.from - 1 }),
    ];
    for (const edit of bend) {
      const bent = via(alice, tamperLog(edit));
      expect(await codeOf(bent.collective('portland'))).toBe('COLLECTIVE_INVALID');
      expect(alice.store.collectiveEvents('portland')).toHaveLength(cached);
    }
    // The honest log still verifies from where the store left off.
    const honest = await alice.client.collective('portland');
    expect(honest.members.map((m) => m.name)).toEqual(['alice', 'bob', 'dave']);
    expect(alice.store.collectiveEvents('portland')).toHaveLength(honest.length);
    expect(bob.store.collectiveEvents('portland')).toHaveLength(honest.length);
  });

  it('refuses a log that forks from the stored prefix', async () => {
    const { alice } = await withHistory();
    const stored = alice.store.collectiveEvents('portland');
    // The Operator serves a history whose next event does not chain onto ours.
    const other = signCollectiveEvent(
      {
        v: 1,
        collective: 'portland',
        seq: stored.length,
        prev: randomBytes(32),
        at: world.clock,
        actor: 'alice',
        kind: 'proposal',
        body: { action: 'remove', member: 'bob' },
      },
      alice.keys.signSecret,
    );
    const forked = via(
      alice,
      tamperLog((page) => ({ ...page, events: [other], length: page.from + 1 })),
    );
    expect(await codeOf(forked.collective('portland'))).toBe('COLLECTIVE_INVALID');
    expect(alice.store.collectiveEvents('portland')).toHaveLength(stored.length);
  });
});

describe('collectives: concurrent members', () => {
  it('twelve members vouch and vote at once: one admission, one enactment', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `member_${i}`);
    const { alice, rest } = await founded(...names);
    const members = [alice, ...rest];
    const cand = await registered('candidate');
    await cand.client.requestToJoin('portland');
    const vouches = await Promise.all(members.map((m) => m.client.vouch('portland', 'candidate')));
    // Those whose vouch came before the quorum see it pending; the rest see the admission.
    expect(vouches.filter((v) => !v.admitted).length).toBeLessThan(3);
    const proposal = await alice.client.propose('portland', {
      action: 'amend',
      constitution: { ...DEFAULT_CONSTITUTION, votingWindowMs: 86_400_000 },
    });
    const votes = await Promise.all(
      members.map((m) => m.client.vote('portland', proposal.id, true)),
    );
    expect(votes.filter((v) => v.enacted).length).toBeGreaterThan(0);
    const log = world.operator.collectives.get('portland')!;
    const kinds = log.events.map((e) => {
      const view = Buffer.from(e.signed).toString('latin1');
      return view.includes('enactment') ? 'enactment' : view.includes('admit') ? 'admit' : '';
    });
    expect(kinds.filter((k) => k === 'admit')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'enactment')).toHaveLength(1);
    const final = await cand.client.collective('portland');
    expect(final.constitution.votingWindowMs).toBe(86_400_000);
    expect(final.length).toBe(log.events.length);
  });
});

describe('RetryingOperatorClient and appends whose answer was lost', () => {
  const lostAnswer = () =>
    new KomradeError('OPERATOR_UNREACHABLE', 'Could not reach the Operator.', {
      cause: Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
    });

  /** The fake, whose first append is applied but whose answer is lost. */
  const losingFirstAnswer: Wrap = (inner) => {
    let first = true;
    return new Proxy(inner, {
      get(target, property: keyof OperatorClient) {
        if (property === 'appendEvent') {
          return async (...args: Parameters<OperatorClient['appendEvent']>) => {
            const head = await target.appendEvent(...args);
            if (!first) return head;
            first = false;
            throw lostAnswer();
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
  };

  it('resends the same event, sees it landed, and reports success once', async () => {
    const { alice, rest } = await founded('bob');
    const [bob] = rest;
    const retrying = via(
      bob!,
      (inner) => new RetryingOperatorClient(losingFirstAnswer(inner), { baseMs: 1 }),
    );
    const proposal = await retrying.propose('portland', { action: 'remove', member: 'alice' });
    expect(proposal.id).toBe(1);
    // Exactly one proposal in the Operator's log.
    expect(world.operator.collectives.get('portland')!.events).toHaveLength(2);
    expect((await alice.client.collective('portland')).proposals).toHaveLength(1);
  });

  it('passes the conflict on when the lost attempt did not land', async () => {
    const { alice } = await founded('bob');
    const signer = { name: 'alice', signSecret: alice.keys.signSecret };
    const stale = signCollectiveEvent(
      {
        v: 1,
        collective: 'portland',
        seq: 1,
        prev: randomBytes(32),
        at: world.clock,
        actor: 'alice',
        kind: 'leave',
        body: {},
      },
      alice.keys.signSecret,
    );
    let calls = 0;
    const inner = new Proxy(world.operator, {
      get(target, property: keyof OperatorClient) {
        if (property === 'appendEvent') {
          return () => {
            calls++;
            return Promise.reject(
              calls === 1 ? lostAnswer() : new KomradeError('COLLECTIVE_CONFLICT', 'stale'),
            );
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    const client = new RetryingOperatorClient(inner, { baseMs: 1 });
    expect(await codeOf(client.appendEvent(signer, stale))).toBe('COLLECTIVE_CONFLICT');
    expect(calls).toBe(2);
  });
});

describe('the local store of collectives', () => {
  it('keeps logs and messages encrypted, deduplicated and bound to their rows', async () => {
    const { alice, rest } = await founded('bob');
    const [bob] = rest;
    await alice.client.sendToCollective('portland', 'a secret plan');
    await bob!.client.checkInbox();
    await bob!.client.collective('portland');
    const path = join(world.dir, 'bob.db');
    const raw = new Database(path, { readonly: true });
    const sealed = raw.prepare('SELECT sealed FROM collective_messages').all() as {
      sealed: Buffer;
    }[];
    const events = raw.prepare('SELECT sealed FROM collective_events').all() as {
      sealed: Buffer;
    }[];
    raw.close();
    expect(sealed).toHaveLength(1);
    expect(events).toHaveLength(1);
    for (const row of [...sealed, ...events]) {
      expect(row.sealed.toString('latin1')).not.toContain('a secret plan');
      expect(row.sealed.toString('latin1')).not.toContain('portland');
    }
    // Saving the same message again adds nothing.
    const [stored] = bob!.store.collectiveMessages('portland');
    expect(bob!.store.saveCollectiveMessages([stored!])).toEqual([]);
    // Another copy of a cached event must be the same bytes.
    const [genesis] = bob!.store.collectiveEvents('portland');
    expect(() => {
      bob!.store.appendCollectiveEvents('portland', 0, [genesis!]);
    }).not.toThrow();
    expect(() => {
      bob!.store.appendCollectiveEvents('portland', 0, [{ ...genesis!, sig: randomBytes(64) }]);
    }).toThrow(expect.objectContaining({ code: 'COLLECTIVE_INVALID' }) as Error);
    expect(() => {
      bob!.store.appendCollectiveEvents('portland', 5, [genesis!]);
    }).toThrow(expect.objectContaining({ code: 'USAGE' }) as Error);
    // Rows swapped between collectives do not open.
    const rw = new Database(path);
    rw.prepare("UPDATE collective_messages SET collective = 'other'").run();
    rw.close();
    expect(() => bob!.store.collectiveMessages('other')).toThrow(
      expect.objectContaining({ code: 'DECODE_FAILED' }) as Error,
    );
  });
});

describe('komrade collective propose: options to a proposal', () => {
  const current = DEFAULT_CONSTITUTION;

  it('amends only what the options name', () => {
    expect(proposalFromOptions(current, { quorum: '3' })).toEqual({
      action: 'amend',
      constitution: { ...current, quorum: { fixed: 3 } },
    });
    const fraction = proposalFromOptions(current, { quorumFraction: '1/4', quorumMin: '3' });
    expect(fraction).toEqual({
      action: 'amend',
      constitution: {
        ...current,
        quorum: { fraction: { num: 1, den: 4 }, min: 3, upTo: { members: 5, fixed: 1 } },
      },
    });
    const rules = proposalFromOptions(current, {
      amendThreshold: 'at-least:2/3',
      removeThreshold: '>1/2',
      votingDays: '3',
      keyHolders: 'self,telegram',
    });
    expect(rules).toEqual({
      action: 'amend',
      constitution: {
        ...current,
        amendment: { atLeast: { num: 2, den: 3 } },
        removal: { moreThan: { num: 1, den: 2 } },
        votingWindowMs: 3 * 86_400_000,
        allowedKeyHolders: ['self', 'telegram'],
      },
    });
    expect(proposalFromOptions(current, { remove: '@Mallory' })).toEqual({
      action: 'remove',
      member: 'mallory',
    });
  });

  it('refuses no change, both kinds, and values out of range', () => {
    const bad: ProposeOptions[] = [
      {},
      { quorum: '2', remove: '@bob' },
      { quorum: '2', quorumMin: '2' },
      { quorum: '0' },
      { quorumFraction: '5/4' },
      { quorumFraction: 'half' },
      { amendThreshold: 'most' },
      { amendThreshold: 'more-than:1/1' },
      { votingDays: '400' },
      { keyHolders: 'self,Signal' },
      { keyHolders: 'self,s\u0456gnal' },
    ];
    for (const options of bad) {
      expect(() => proposalFromOptions(current, options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'USAGE' }) as Error,
      );
    }
    expect(() => proposalFromOptions(current, { remove: 'no way' })).toThrow(
      expect.objectContaining({ code: 'NAME_INVALID' }) as Error,
    );
  });
});
