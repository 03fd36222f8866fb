/**
 * Collectives from Telegram: the real grammY bot against the Bot API emulator, a real Redis and a
 * real Operator. Users create a collective, ask to join, vouch, read the pending list, members and
 * rules, amend the rules and remove a member by vote, and talk to every member at once, together
 * with a komrade whose keys are on their own device; wrong usage gets a helpful answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOperatorClient, KomradeClient, SqliteLocalStore } from '../../client/index.js';
import { generateIdentityKeys } from '../../common/crypto/index.js';
import { dumpRedis } from '../support/redis-server.js';
import type { EmulatedUser } from '../support/telegram-emulator.js';
import { settle, telegramUser } from '../support/telegram-bridge.js';
import { useTelegramStack } from '../support/use-telegram-stack.js';

const MARKER = `collective-marker-${Date.now().toString(36)}`;

const alice = telegramUser('Alice');
const bob = telegramUser('Bob');
const carol = telegramUser('Carol');
const dave = telegramUser('Dave');
const stranger = telegramUser('Stranger');
const everyone = [alice, bob, carol, dave];

const stack = useTelegramStack({ alice, bob, carol, dave });
const { emulator } = stack;

// A komrade whose keys are on their own device (the CLI's client), reaching the same Operator.
const erinHome = mkdtempSync(join(tmpdir(), 'komrade-collective-erin-'));
const erinAgent = new Agent();
let erinStore: SqliteLocalStore;
let erin: KomradeClient;

beforeAll(() => {
  erinStore = new SqliteLocalStore(join(erinHome, 'local.db'), {
    storageKey: new Uint8Array(32).fill(3),
  });
  erin = new KomradeClient({
    operator: new HttpOperatorClient({
      baseUrl: stack.operator.url,
      dispatcher: erinAgent,
      now: Date.now,
    }),
    store: erinStore,
    keys: generateIdentityKeys(),
    now: Date.now,
    keyHolder: 'self',
  });
});

afterAll(async () => {
  erinStore.close();
  await erinAgent.close();
  rmSync(erinHome, { recursive: true, force: true });
});

/** Runs every identity's poll once more and waits for the queues to settle. */
const settleAll = () => settle(stack.bridge, everyone);

/** Sends a command and waits for the first bot answer after it that matches. */
const ask = (user: EmulatedUser, text: string, expected: RegExp) =>
  emulator.ask(user, text, expected);

const shown = (user: EmulatedUser, header: string, text: string) =>
  emulator.botMessages(user.id).filter((m) => m.text.startsWith(header) && m.text.includes(text));

describe('komrade-telegram collectives', () => {
  it('lists the collective commands in /help and in the command menu', async () => {
    const names = (emulator.commands[0] as { command: string }[]).map((c) => c.command);
    expect(names).toEqual(
      expect.arrayContaining([
        'create_collective',
        'join',
        'vouch',
        'pending',
        'members',
        'constitution',
        'propose',
        'proposals',
        'vote',
        'leave',
        'say',
        'collectives',
      ]),
    );
    const help = await ask(alice, '/help', /Commands:/);
    expect(help.text).toMatch(/\/create_collective NAME — Start a collective/);
    expect(help.text).toMatch(/\/say NAME text — Write to every member/);
  });

  it('answers wrong usage of every collective command helpfully', async () => {
    await ask(stranger, '/collectives', /no Komrade identity here yet/);
    await ask(stranger, '/join portland', /no Komrade identity here yet/);
    await ask(alice, '/collectives', /in no collective yet/);
    await ask(alice, '/create_collective', /Usage: \/create_collective NAME/);
    await ask(alice, '/create_collective two words', /Usage: \/create_collective NAME/);
    await ask(alice, '/join', /Usage: \/join NAME \[a note/);
    await ask(alice, '/vouch portland', /Usage: \/vouch NAME @candidate/);
    await ask(alice, '/pending', /Usage: \/pending NAME/);
    await ask(alice, '/members', /Usage: \/members NAME/);
    await ask(alice, '/constitution', /Usage: \/constitution NAME/);
    await ask(alice, '/proposals', /Usage: \/proposals NAME/);
    await ask(alice, '/propose portland quorum', /\/propose NAME quorum N/);
    await ask(alice, '/propose portland quorum zero', /\/propose NAME remove @member/);
    await ask(alice, '/propose portland frobnicate 2', /\/propose NAME window DAYS/);
    await ask(alice, '/propose portland remove @x', /name/i);
    await ask(alice, '/vote portland seven yes', /Usage: \/vote NAME ID yes\|no/);
    await ask(alice, '/vote portland 7 maybe', /Usage: \/vote NAME ID yes\|no/);
    await ask(alice, '/leave', /Usage: \/leave NAME/);
    await ask(alice, '/say portland', /Usage: \/say NAME text/);
    await ask(alice, '/create_collective no', /3–32|name/i);
    // A collective nobody created: the Operator's refusal is passed on in plain words.
    const missing = await ask(alice, '/members nowhere_coll', /./);
    expect(missing.text).not.toMatch(/Something went wrong/);
  });

  it('creates a collective with proof-of-work progress, and lists it', async () => {
    await ask(alice, '/create_collective portland', /Created @portland\. You are its first member/);
    const list = await ask(alice, '/collectives', /Your collectives:/);
    expect(list.text).toMatch(/@portland/);
    const members = await ask(alice, '/members portland', /Members of @portland \(1\)/);
    expect(members.text).toMatch(/@alice \(telegram\)/);
  });

  it('a request to join reaches the members; a vouch admits at the quorum', async () => {
    await ask(bob, `/join @portland I cook for the assembly ${MARKER}`, /Asked to join @portland/);
    const notice = await emulator.waitForBotMessage(alice.id, /@bob asks to join @portland/);
    expect(notice.text).toMatch(/I cook for the assembly/);
    expect(notice.text).toMatch(/\/vouch portland @bob/);
    const pending = await ask(alice, '/pending portland', /Waiting to join @portland/);
    expect(pending.text).toMatch(/@bob 0\/1 \(telegram\)/);

    await ask(alice, '/vouch portland @bob', /@bob is now a member of @portland/);
    await emulator.waitForBotMessage(bob.id, /you are now a member of @portland/);
    await ask(alice, '/pending portland', /Nobody is waiting to join @portland/);
    // A vouch for someone already in is answered, not announced again.
    await ask(alice, '/vouch portland @bob', /@bob is already a member of @portland/);

    await ask(carol, '/join portland', /Asked to join @portland/);
    await ask(bob, '/vouch portland carol', /@carol is now a member of @portland/);
    const members = await ask(carol, '/members portland', /Members of @portland \(3\)/);
    expect(members.text).toMatch(/@bob \(telegram\)/);
  });

  it('shows the rules, and amends them by vote', async () => {
    const rules = await ask(bob, '/constitution portland', /Rules of @portland \(3 members\)/);
    expect(rules.text).toMatch(/Admission: 1 vouch up to 5 members.*\(now 1\)/);
    expect(rules.text).toMatch(/Amendments: more than 50% of all members vote yes \(now 2\)/);

    const proposed = await ask(alice, '/propose portland quorum 2', /Proposal #\d+ in @portland/);
    expect(proposed.text).toMatch(/quorum 2 vouches/);
    const id = /Proposal #(\d+)/.exec(proposed.text)?.[1] ?? '';
    await emulator.waitForBotMessage(
      bob.id,
      new RegExp(`@alice proposes in @portland \\(#${id}\\)`),
    );
    const notice = await emulator.waitForBotMessage(carol.id, /quorum 2 vouches/);
    // Only what the amendment changes.
    expect(notice.text).toMatch(/: change the rules: quorum 2 vouches\.\n/);
    const open = await ask(carol, '/proposals portland', /Open proposals in @portland/);
    expect(open.text).toMatch(new RegExp(`#${id} by @alice: change the rules: quorum 2 vouches`));

    await ask(alice, `/vote portland ${id} yes`, /1 yes, 0 no; 2 yes needed/);
    await ask(carol, `/vote portland #${id} no`, /1 yes, 1 no; 2 yes needed/);
    await ask(bob, `/vote portland ${id} yes`, new RegExp(`proposal #${id} passed`));
    await emulator.waitForBotMessage(
      alice.id,
      new RegExp(`Proposal #${id} in @portland passed: change the rules: quorum 2 vouches\\.$`),
    );
    await emulator.waitForBotMessage(carol.id, new RegExp(`Proposal #${id} in @portland passed`));
    const after = await ask(carol, '/constitution portland', /Rules of @portland/);
    expect(after.text).toMatch(/Admission: 2 vouches \(now 2\)/);
    await ask(carol, '/proposals portland', /No open proposals in @portland/);

    await ask(dave, '/join portland', /2 members must vouch for you/);
    await ask(alice, '/vouch portland @dave', /1\/2 vouches/);
    const pending = await ask(bob, '/pending portland', /Waiting to join/);
    expect(pending.text).toMatch(/@dave 1\/2 \(telegram\)/);
    await emulator.waitForBotMessage(dave.id, /@alice vouched for you in @portland \(1\/2\)/);
    await ask(bob, '/vouch portland @dave', /@dave is now a member of @portland/);
  });

  it('says something to every member, once each; a reply answers the collective', async () => {
    await ask(
      alice,
      `/say portland Assembly at noon ${MARKER}`,
      /Sealed for 3 members of @portland/,
    );
    for (const user of [bob, carol, dave]) {
      await emulator.waitForBotMessage(
        user.id,
        (m) => m.text === `[@portland] @alice (telegram): Assembly at noon ${MARKER}`,
      );
    }
    const toBob = shown(bob, '[@portland] @alice', 'Assembly at noon')[0]!;
    emulator.userSends(bob, `I bring soup ${MARKER}`, { replyTo: toBob.message_id });
    await emulator.waitForBotMessage(bob.id, /Sealed for 3 members of @portland/);
    for (const user of [alice, carol, dave]) {
      await emulator.waitForBotMessage(
        user.id,
        (m) => m.text === `[@portland] @bob (telegram): I bring soup ${MARKER}`,
      );
    }
    await settleAll();
    for (const user of [bob, carol, dave]) {
      expect(shown(user, '[@portland] @alice', 'Assembly at noon')).toHaveLength(1);
    }
    expect(shown(alice, '[@portland] @bob', 'I bring soup')).toHaveLength(1);
    // Nobody is shown their own message.
    expect(shown(alice, '[@portland] @alice', 'Assembly at noon')).toHaveLength(0);
  });

  it('talks with a member whose keys are on their own device', async () => {
    await erin.register('erin');
    // Her request is in the log (no bridge is told: members see it when they look).
    await erin.requestToJoin('portland', 'from my laptop');
    const pending = await ask(carol, '/pending portland', /Waiting to join/);
    expect(pending.text).toMatch(/@erin 0\/2 \(own device\)/);
    await ask(carol, '/vouch portland erin', /1\/2 vouches/);
    await ask(dave, '/vouch portland erin', /@erin is now a member of @portland/);
    const members = await ask(alice, '/members portland', /Members of @portland \(5\)/);
    expect(members.text).toMatch(/@erin \(own device\)/);

    await erin.sendToCollective('portland', `hello from a laptop ${MARKER}`);
    await emulator.waitForBotMessage(
      alice.id,
      (m) => m.text === `[@portland] @erin (own device): hello from a laptop ${MARKER}`,
    );
    await ask(alice, `/say portland welcome erin ${MARKER}`, /Sealed for 4 members/);
    await stack.bridge.drained();
    await expect
      .poll(
        async () => {
          await erin.checkInbox();
          return erin.collectiveMessages('portland').map((m) => `${m.from}: ${m.text}`);
        },
        { timeout: 15_000, interval: 300 },
      )
      .toContain(`alice: welcome erin ${MARKER}`);
  });

  it('removes a member by vote: they are told and get no later messages', async () => {
    const proposed = await ask(bob, '/propose portland remove @dave', /Proposal #\d+ in @portland/);
    expect(proposed.text).toMatch(/remove @dave/);
    const id = Number(/Proposal #(\d+)/.exec(proposed.text)?.[1]);
    await emulator.waitForBotMessage(dave.id, new RegExp(`\\(#${id}\\): remove @dave`));
    // At least two thirds of 5 members: 4 yes votes.
    await erin.vote('portland', id, true);
    await ask(alice, `/vote portland ${id} yes`, /2 yes, 0 no; 4 yes needed/);
    await ask(dave, `/vote portland ${id} no`, /2 yes, 1 no; 4 yes needed/);
    await ask(bob, `/vote portland ${id} yes`, /3 yes, 1 no; 4 yes needed/);
    await ask(carol, `/vote portland ${id} yes`, new RegExp(`proposal #${id} passed`));
    await emulator.waitForBotMessage(
      dave.id,
      new RegExp(`#${id} in @portland passed: remove @dave`),
    );
    await emulator.waitForBotMessage(
      alice.id,
      new RegExp(`#${id} in @portland passed: remove @dave`),
    );
    const members = await ask(alice, '/members portland', /Members of @portland \(4\)/);
    expect(members.text).not.toMatch(/@dave/);
    await ask(alice, `/say portland without dave ${MARKER}`, /Sealed for 3 members/);
    await emulator.waitForBotMessage(bob.id, (m) => m.text.includes('without dave'));
    await settleAll();
    expect(shown(dave, '[@portland]', 'without dave')).toHaveLength(0);
    // Removed: dave can no longer write to it.
    const refused = await ask(dave, '/say portland am I still here', /./);
    expect(refused.text).not.toMatch(/Sealed for/);
  });

  it('leaves a collective; nothing readable reaches Redis or the logs', async () => {
    await ask(carol, '/leave portland', /You left @portland/);
    const members = await ask(alice, '/members portland', /Members of @portland \(3\)/);
    expect(members.text).not.toMatch(/@carol/);
    await ask(alice, `/say portland after carol left ${MARKER}`, /Sealed for 2 members/);
    await emulator.waitForBotMessage(bob.id, (m) => m.text.includes('after carol left'));
    await settleAll();
    expect(shown(carol, '[@portland]', 'after carol left')).toHaveLength(0);
    expect(await dumpRedis(stack.redis)).not.toContain(MARKER);
    expect(stack.bridge.logs.join('\n')).not.toContain(MARKER);
    expect(stack.bridge.logs.join('\n')).not.toMatch(/"(text|note|body)":/);
  });
});
