/**
 * Twenty members acting at once, through the real Telegram bot, the bridge engine's queues on a
 * real Redis and a real Operator: all vouch for one newcomer together, all vote on one amendment
 * together, then all write to the collective together. Appends race on one head, the losers
 * re-read the log and retry; the newcomer is admitted once, the amendment is enacted once, and
 * every message reaches every other member exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOperatorClient, KomradeClient, SqliteLocalStore } from '../../client/index.js';
import { decodeCollectiveEvent, foldLog } from '../../common/collectives/index.js';
import { generateIdentityKeys } from '../../common/crypto/index.js';
import type { EmulatedUser } from '../support/telegram-emulator.js';
import { settle, telegramUser } from '../support/telegram-bridge.js';
import { useTelegramStack } from '../support/use-telegram-stack.js';

const MEMBERS = 20;
const COLLECTIVE = 'cell_twenty';
const founders = Array.from({ length: MEMBERS }, (_, i) => telegramUser(`Member ${i}`));
const nova = telegramUser('Nova');
const names = founders.map((_, i) => `member_${i}`);
const everyone = [...founders, nova];

const users: Record<string, EmulatedUser> = { nova };
for (const [i, user] of founders.entries()) users[`member_${i}`] = user;
const stack = useTelegramStack(users);
const { emulator } = stack;

// A founding member whose keys are on its own device: it reads the raw log, to count events.
const witnessHome = mkdtempSync(join(tmpdir(), 'komrade-concurrency-witness-'));
const witnessKeys = generateIdentityKeys();
const agent = new Agent();
let witnessStore: SqliteLocalStore;
let operator: HttpOperatorClient;
let witness: KomradeClient;

beforeAll(async () => {
  witnessStore = new SqliteLocalStore(join(witnessHome, 'local.db'), {
    storageKey: new Uint8Array(32).fill(7),
  });
  operator = new HttpOperatorClient({
    baseUrl: stack.operator.url,
    dispatcher: agent,
    now: Date.now,
  });
  witness = new KomradeClient({
    operator,
    store: witnessStore,
    keys: witnessKeys,
    now: Date.now,
    keyHolder: 'self',
  });
  await witness.register('witness');
});

afterAll(async () => {
  witnessStore.close();
  await agent.close();
  rmSync(witnessHome, { recursive: true, force: true });
});

/** The raw log as the Operator serves it, verified from scratch, and its events' kinds. */
async function rawLog() {
  const signer = { name: 'witness', signSecret: witnessKeys.signSecret };
  const page = await operator.collectiveLog(signer, COLLECTIVE, 0);
  expect(page.events).toHaveLength(page.length);
  const keys = new Map(page.receipts.map((r) => [r.name, r]));
  const folded = foldLog(page.events, {
    keyOf: (name) => keys.get(name)?.signKey,
    keyHolderOf: (name) => keys.get(name)?.keyHolder,
  });
  if (!folded.ok) throw folded.error;
  return page.events.map((e) => {
    const decoded = decodeCollectiveEvent(e.signed);
    if (!decoded.ok) throw decoded.error;
    return decoded.value;
  });
}

const idOf = (user: EmulatedUser): string => {
  const identity = stack.bridge.adapter.engine.identityOf(`telegram:${user.id}`);
  if (identity === undefined) throw new Error(`user ${user.id} has no identity`);
  return identity.id;
};

/** Every user sends `command(user)` at the same moment; resolves with each one's answer. */
const allAtOnce = (
  users: readonly EmulatedUser[],
  command: (user: EmulatedUser, index: number) => string,
  answer: RegExp,
) => Promise.all(users.map((user, i) => emulator.ask(user, command(user, i), answer, 60_000)));

describe('twenty members at once', () => {
  it('founds the collective with every member', async () => {
    const [first, ...others] = founders;
    if (first === undefined) throw new Error('no founders');
    const view = await stack.bridge.adapter.engine.createCollective(idOf(first), COLLECTIVE, {
      founders: [...names.slice(1), 'witness'],
    });
    expect(view.members).toHaveLength(MEMBERS + 1);
    expect(others).toHaveLength(MEMBERS - 1);
  });

  it('admits a newcomer exactly once when all twenty vouch together', async () => {
    await emulator.ask(nova, `/join ${COLLECTIVE}`, /Asked to join/, 30_000);
    const answers = await allAtOnce(
      founders,
      () => `/vouch ${COLLECTIVE} @nova`,
      /vouched for @nova|already a member/,
    );
    // At 21 members the default quorum is 5: the vouches that land before the admission count,
    // the rest find @nova already in. Nobody sees an error.
    expect(answers.some((a) => /is now a member/.test(a.text))).toBe(true);
    expect(answers.every((a) => !/error|failed|could not/i.test(a.text))).toBe(true);

    const events = await rawLog();
    expect(events.filter((e) => e.kind === 'admit')).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'vouch').length).toBeGreaterThanOrEqual(5);
    const view = await stack.bridge.adapter.engine.collective(idOf(nova), COLLECTIVE);
    expect(view.members.map((m) => m.name)).toContain('nova');
    expect(view.members).toHaveLength(MEMBERS + 2);
    expect(view.pending).toEqual([]);
  });

  it('enacts an amendment exactly once when everyone votes together', async () => {
    const proposed = await emulator.ask(
      founders[0]!,
      `/propose ${COLLECTIVE} quorum 5`,
      /Proposal #\d+/,
      30_000,
    );
    const id = /Proposal #(\d+)/.exec(proposed.text)?.[1];
    expect(id).toBeDefined();
    const answers = await allAtOnce(
      everyone,
      () => `/vote ${COLLECTIVE} ${id} yes`,
      /vote counted|passed|no open proposal|not open|already/i,
    );
    // 22 members: more than half is 12 yes votes; the client whose vote reaches it enacts.
    expect(answers.some((a) => /passed: it is now in force/.test(a.text))).toBe(true);
    const events = await rawLog();
    expect(events.filter((e) => e.kind === 'enactment')).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'vote').length).toBeGreaterThanOrEqual(12);
    const voters = events.filter((e) => e.kind === 'vote').map((e) => e.actor);
    expect(new Set(voters).size).toBe(voters.length);

    const view = await stack.bridge.adapter.engine.collective(idOf(nova), COLLECTIVE);
    expect(view.constitution.quorum).toEqual({ fixed: 5 });
    expect(view.proposals).toEqual([]);
  });

  it('delivers every member’s message to every other member exactly once', async () => {
    await allAtOnce(
      everyone,
      (_, i) => `/say ${COLLECTIVE} roll call ${i}`,
      /on its way|Nobody else/,
    );
    await settle(stack.bridge, everyone);
    for (const [i, user] of everyone.entries()) {
      const seen = emulator
        .botMessages(user.id)
        .filter((m) => m.text.startsWith(`[@${COLLECTIVE}] `) && m.text.includes('roll call'))
        .map((m) => /roll call (\d+)/.exec(m.text)?.[1]);
      const expected = everyone.map((_, j) => `${j}`).filter((j) => j !== `${i}`);
      expect(seen.sort()).toEqual(expected.sort());
    }
    // 380 deliveries through one bot: minutes on a loaded CI machine, seconds on a quiet one.
  }, 120_000);
});
