/**
 * Collectives from Discord: the real discord.js client in the Discord adapter against the Discord
 * emulator, with a real Operator, a real Redis, the real Telegram adapter against its emulator,
 * and the real `komrade` command. Three Discord users, a Telegram user and a CLI user form one
 * collective: a newcomer is vouched in, an amendment raises the quorum, and a message from each
 * surface reaches every other once. Then: a non-member writing in the linked channel, wrong use of
 * commands, linking rights, and a restart of the Discord adapter with work left in between.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerOnDiscord,
  slash,
  startDiscordBridge,
  startOperatorProxy,
  type OperatorProxy,
  type RunningDiscordBridge,
} from '../support/discord-bridge.js';
import {
  startDiscordEmulator,
  type DiscordEmulator,
  type EmulatedChannel,
  type EmulatedMessage,
  type EmulatedUser,
} from '../support/discord-emulator.js';
import {
  TEST_PASSPHRASE,
  assertCliBuilt,
  runKomrade,
  runKomradeOk,
} from '../support/komrade-cli.js';
import { testPrefix } from '../support/redis-server.js';
import {
  register as registerOnTelegram,
  startTelegramStack,
  telegramUser,
  type TelegramStack,
} from '../support/telegram-bridge.js';

const MARKER = `dc-marker-${Date.now().toString(36)}`;
const said = (words: string) => `${words} ${MARKER}`;

let stack: TelegramStack;
let proxy: OperatorProxy;
let discord: DiscordEmulator;
let bridge: RunningDiscordBridge;
const prefix = testPrefix();

let portland: EmulatedChannel;
/** A second channel linked to the same collective. */
let assembly: EmulatedChannel;
let lobby: EmulatedChannel;
/** Discord users: three members-to-be, an admin who is no member, and a passer-by. */
let ana: EmulatedUser;
let ben: EmulatedUser;
let cleo: EmulatedUser;
let root: EmulatedUser;
let nosy: EmulatedUser;
let discordMembers: EmulatedUser[];

const tara = telegramUser('Tara');
const erinHome = mkdtempSync(join(tmpdir(), 'komrade-discord-erin-'));

/** Runs the CLI as erin and expects success. */
async function erin(args: readonly string[]): Promise<string> {
  return (await runKomradeOk(args, { home: erinHome })).stdout;
}

interface ReadMessage {
  readonly from: string;
  readonly text: string;
}

/** Erin's conversation in portland, after fetching her mail. */
async function erinReads(): Promise<ReadMessage[]> {
  const out = await erin(['collective', 'read', '@portland', '--json']);
  return (JSON.parse(out) as { messages: ReadMessage[] }).messages;
}

/**
 * Waits until erin has read a message with `text`. A failed read is retried until the deadline
 * (another process may hold her store for a moment); the last failure is reported if it never
 * comes.
 */
async function erinSees(text: string, timeoutMs = 20_000): Promise<ReadMessage[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const run = await runKomrade(['collective', 'read', '@portland', '--json'], { home: erinHome });
    expect(run.stderr).not.toContain(TEST_PASSPHRASE);
    if (run.code === 0) {
      const messages = (JSON.parse(run.stdout) as { messages: ReadMessage[] }).messages;
      if (messages.some((m) => m.text === text)) return messages;
      last = JSON.stringify(messages);
    } else {
      last = `exit ${String(run.code)}: ${run.stderr}`;
    }
    if (Date.now() > deadline) throw new Error(`erin never read "${text}"; last read: ${last}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** What a Discord user's slash command answered. */
async function ask(
  user: EmulatedUser,
  command: string,
  options: Record<string, string | number> = {},
  channel: EmulatedChannel = portland,
): Promise<string> {
  const reply = await slash(discord, channel.id, user, command, options);
  expect(reply.ephemeral, `/${command} answers privately`).toBe(true);
  return reply.content;
}

/** Sends a Telegram command as tara and waits for the first answer after it that matches. */
async function taraAsks(text: string, expected: RegExp): Promise<void> {
  const { emulator } = stack;
  const before = emulator.botMessages(tara.id).length;
  emulator.userSends(tara, text);
  await emulator.waitFor(
    () =>
      emulator
        .botMessages(tara.id)
        .slice(before)
        .find((m) => expected.test(m.text)),
    20_000,
    `an answer to ${text} matching ${String(expected)}`,
  );
}

/** Puppet posts (webhook messages) in a channel with exactly this text. */
const puppets = (text: string, channel = portland): EmulatedMessage[] =>
  discord.messages(channel.id).filter((m) => m.source === 'webhook' && m.content === text);

/** What tara's Telegram chat shows of a collective message with this text. */
const taraShown = (text: string) =>
  stack.emulator.botMessages(tara.id).filter((m) => m.text.endsWith(`: ${text}`));

/** Lets every bridge finish what it fetched: Discord-held members polled once more. */
async function settle(): Promise<void> {
  await bridge.settle(discordMembers);
  await stack.bridge.drained();
}

beforeAll(async () => {
  assertCliBuilt();
  stack = await startTelegramStack();
  proxy = await startOperatorProxy(stack.operator.url);
  discord = await startDiscordEmulator({ heartbeatIntervalMs: 1000 });
  const guild = discord.createGuild({ name: 'Organizers' });
  portland = discord.createChannel(guild.id, 'portland');
  assembly = discord.createChannel(guild.id, 'assembly');
  lobby = discord.createChannel(guild.id, 'lobby');
  ana = discord.addMember(guild.id, { username: 'ana', admin: true });
  ben = discord.addMember(guild.id, { username: 'ben' });
  cleo = discord.addMember(guild.id, { username: 'cleo' });
  root = discord.addMember(guild.id, { username: 'rowan', admin: true });
  nosy = discord.addMember(guild.id, { username: 'nosy' });
  discordMembers = [ana, ben, cleo, root];
  bridge = await startDiscordBridge({
    emulator: discord,
    redis: stack.redis,
    operatorUrl: proxy.url,
    prefix,
  });
  await Promise.all([
    registerOnDiscord(discord, lobby.id, ana, 'ana'),
    registerOnDiscord(discord, lobby.id, ben, 'ben'),
    registerOnDiscord(discord, lobby.id, cleo, 'cleo'),
    registerOnDiscord(discord, lobby.id, root, 'rowan'),
    registerOnTelegram(stack.emulator, tara, 'tara'),
    (async () => {
      await erin(['init', '--operator', stack.operator.url]);
      await erin(['register', 'erin']);
    })(),
  ]);
}, 120_000);

afterAll(async () => {
  await bridge.cleanup();
  await discord.close();
  await proxy.close();
  await stack.stop();
  rmSync(erinHome, { recursive: true, force: true });
});

describe('komrade-discord collectives', () => {
  it('registers its slash commands; only channel managers may see /link and /unlink', () => {
    const commands = discord.commands();
    expect(commands.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'help',
        'register',
        'create',
        'join',
        'vouch',
        'pending',
        'members',
        'constitution',
        'propose',
        'proposals',
        'vote',
        'say',
        'leave',
        'collectives',
        'link',
        'unlink',
      ]),
    );
    const manageChannels = String(1n << 4n);
    expect(commands.find((c) => c.name === 'link')?.defaultMemberPermissions).toBe(manageChannels);
    expect(commands.find((c) => c.name === 'unlink')?.defaultMemberPermissions).toBe(
      manageChannels,
    );
    expect(() => discord.slash(portland.id, ben.id, 'link', { collective: 'portland' })).toThrow(
      /may not see \/link/,
    );
  });

  it('creates a collective and links a channel to it, for members only', async () => {
    expect(await ask(ana, 'create', { collective: 'portland' })).toMatch(
      /^Created @portland\. You are its first member\./,
    );
    // An admin of the server who is not a member of the collective may not link it.
    expect(await ask(root, 'link', { collective: 'portland' })).toMatch(
      /You must be a member of @portland to link a channel to it/,
    );
    expect(await ask(ana, 'link', { collective: 'portland' })).toMatch(
      /^Linked this channel to @portland\.\nMessages from its members elsewhere will appear here under their names\./,
    );
    await discord.waitForMessage(portland.id, (m) =>
      m.content.startsWith('🔗 This channel now carries the collective @portland.'),
    );
    expect(discord.webhooks(portland.id)).toHaveLength(1);
    expect(await ask(ana, 'link', { collective: 'portland' })).toMatch(
      /already linked to @portland/,
    );
  });

  it('vouches newcomers in from Discord, Telegram and the CLI', async () => {
    // In a linked channel, `collective:` may be left out.
    expect(await ask(ben, 'join', { note: 'I print the flyers' })).toMatch(
      /^Asked to join @portland\. 1 member must vouch for you/,
    );
    const notice = await discord.waitForDm(ana.id, (m) => m.content.includes('@ben asks to join'));
    expect(notice.content).toContain('I print the flyers');
    expect(notice.content).toContain('/vouch candidate:ben collective:portland');
    expect(await ask(ana, 'pending')).toMatch(/@ben 0\/1 \(discord\)/);
    expect(await ask(ana, 'vouch', { candidate: 'ben' })).toMatch(
      /@ben is now a member of @portland/,
    );
    await discord.waitForDm(ben.id, (m) => m.content.includes('you are now a member of @portland'));

    expect(await ask(cleo, 'join', { collective: '@Portland' })).toMatch(/Asked to join @portland/);
    expect(await ask(ben, 'vouch', { candidate: '@cleo' })).toMatch(/@cleo is now a member/);

    await taraAsks('/join portland from the tenants union', /Asked to join @portland/);
    expect(await ask(cleo, 'vouch', { candidate: 'tara' })).toMatch(/@tara is now a member/);

    expect(await erin(['collective', 'join', '@portland'])).toContain('Asked to join @portland');
    expect(await ask(ana, 'vouch', { candidate: 'erin' })).toMatch(/@erin is now a member/);

    const members = await ask(ben, 'members');
    expect(members).toMatch(/^Members of @portland \(5\):/);
    expect(members).toContain('@ana (discord)');
    expect(members).toContain('@tara (telegram)');
    expect(members).toContain('@erin (own device)');
    expect(await ask(ana, 'pending')).toBe('Nobody is waiting to join @portland.');
  });

  it('passes an amendment by vote that raises the quorum', async () => {
    const before = await ask(cleo, 'constitution');
    expect(before).toMatch(/Admission: 1 vouch up to 5 members.*\(now 1\)/);
    const proposed = await ask(ben, 'propose quorum', { vouches: 3 });
    expect(proposed).toMatch(/^Proposal #\d+ in @portland: change the rules: quorum 3 vouches\./);
    const id = Number(/#(\d+)/.exec(proposed)?.[1]);
    await discord.waitForDm(cleo.id, (m) => m.content.includes(`proposes in @portland (#${id})`));

    expect(await ask(ana, 'vote', { proposal: id, choice: 'yes' })).toMatch(
      /1 yes, 0 no; 3 yes needed/,
    );
    await taraAsks(`/vote portland ${id} yes`, /2 yes, 0 no; 3 yes needed/);
    expect(await erin(['collective', 'vote', '@portland', String(id), 'yes'])).toContain(
      'is enacted',
    );
    const after = await ask(cleo, 'constitution');
    expect(after).toMatch(/Admission: 3 vouches \(now 3\)/);
    expect(await ask(ana, 'proposals')).toBe(
      'No open proposals in @portland. Make one with `/propose quorum vouches:N collective:portland` (see `/help`).',
    );
  });

  it('carries a message from each surface to every other, once in each linked channel', async () => {
    expect(await ask(ana, 'link', { collective: 'portland' }, assembly)).toMatch(
      /^Linked this channel to @portland\./,
    );
    // Discord → Telegram, the CLI and the other linked channel; #portland already shows it.
    const fromDiscord = said('Hello from Discord');
    discord.userSays(portland.id, ben.id, fromDiscord);
    await stack.emulator.waitForBotMessage(
      tara.id,
      (m) => m.text === `[@portland] @ben (discord): ${fromDiscord}`,
      20_000,
    );
    const read = await erinSees(fromDiscord);
    expect(read.filter((m) => m.text === fromDiscord).map((m) => m.from)).toEqual(['ben']);

    // Telegram → Discord (one puppet, though the bridge holds three members) and the CLI.
    const fromTelegram = said('Hello from Telegram');
    await taraAsks(`/say portland ${fromTelegram}`, /Sealed for 4 members of @portland/);
    const puppet = await discord.waitForMessage(
      portland.id,
      (m) => m.source === 'webhook' && m.content === fromTelegram,
      20_000,
    );
    expect(puppet.author.username).toBe('@tara (telegram)');
    await erinSees(fromTelegram);

    // The CLI → Discord and Telegram.
    const fromCli = said('Hello from the CLI');
    expect(await erin(['collective', 'send', '@portland', fromCli])).toContain(
      'Sent to @portland (4 member(s) besides you).',
    );
    const cliPuppet = await discord.waitForMessage(
      portland.id,
      (m) => m.source === 'webhook' && m.content === fromCli,
      20_000,
    );
    expect(cliPuppet.author.username).toBe('@erin (own device)');
    await stack.emulator.waitForBotMessage(
      tara.id,
      (m) => m.text === `[@portland] @erin (own device): ${fromCli}`,
      20_000,
    );

    // /say from Discord: nobody saw it in the channel yet, so a puppet shows it there.
    const viaSay = said('Hello via /say');
    expect(await ask(cleo, 'say', { text: viaSay })).toBe(
      'Sealed for 4 members of @portland and on its way.',
    );
    const sayPuppet = await discord.waitForMessage(
      portland.id,
      (m) => m.source === 'webhook' && m.content === viaSay,
      20_000,
    );
    expect(sayPuppet.author.username).toBe('@cleo (dc bridge)');
    await stack.emulator.waitForBotMessage(
      tara.id,
      (m) => m.text === `[@portland] @cleo (discord): ${viaSay}`,
      20_000,
    );
    await erinSees(viaSay);

    await settle();
    expect(puppets(fromDiscord)).toEqual([]);
    expect(puppets(fromDiscord, assembly).map((m) => m.author.username)).toEqual([
      '@ben (dc bridge)',
    ]);
    for (const text of [fromTelegram, fromCli, viaSay]) {
      expect(puppets(text)).toHaveLength(1);
      expect(puppets(text, assembly)).toHaveLength(1);
    }
    for (const text of [fromDiscord, fromTelegram, fromCli, viaSay]) {
      expect(taraShown(text).length).toBeLessThanOrEqual(1);
    }
    expect(taraShown(fromDiscord)).toHaveLength(1);
    // Members who read the channel get no copy by direct message.
    for (const user of [ana, ben, cleo]) {
      expect(discord.dms(user.id).filter((m) => m.content.includes(MARKER))).toEqual([]);
    }
    // One webhook per channel, reused for every puppet.
    expect(discord.webhooks(portland.id)).toHaveLength(1);
    expect(discord.webhooks(assembly.id)).toHaveLength(1);
    const messages = await erinReads();
    for (const text of [fromDiscord, fromTelegram, viaSay]) {
      expect(messages.filter((m) => m.text === text)).toHaveLength(1);
    }
  });

  it('paces a burst through each channel webhook, losing and repeating nothing', async () => {
    const burst = Array.from({ length: 8 }, (_, i) => said(`Burst ${i}`));
    const before = stack.emulator.botMessages(tara.id).length;
    for (const text of burst) stack.emulator.userSends(tara, `/say portland ${text}`);
    await stack.emulator.waitFor(
      () =>
        stack.emulator
          .botMessages(tara.id)
          .slice(before)
          .filter((m) => m.text.startsWith('Sealed for 4 members')).length === burst.length ||
        undefined,
      20_000,
      'every /say sealed',
    );
    for (const channel of [portland, assembly]) {
      for (const text of burst) {
        await discord.waitForMessage(
          channel.id,
          (m) => m.source === 'webhook' && m.content === text,
          30_000,
        );
      }
    }
    await settle();
    for (const text of burst) {
      expect(puppets(text)).toHaveLength(1);
      expect(puppets(text, assembly)).toHaveLength(1);
    }
    // 16 posts through two webhooks, each allowed 5 per 2 s: discord.js waited out any 429.
    expect(discord.webhooks(portland.id)).toHaveLength(1);
  });

  it('tells a non-member privately why nothing was bridged, and bridges nothing', async () => {
    const unregistered = said('psst, unregistered');
    discord.userSays(portland.id, nosy.id, unregistered);
    const toNosy = await discord.waitForDm(nosy.id, (m) => m.content.includes('**not** sent'));
    expect(toNosy.content).toMatch(/you have no Komrade identity here/);
    expect(toNosy.content).toContain('/register name:NAME');
    expect(toNosy.content).toContain('/join collective:portland');

    const outsider = said('psst, not a member');
    discord.userSays(portland.id, root.id, outsider);
    const toRoot = await discord.waitForDm(root.id, (m) =>
      m.content.includes('you are not a member of it'),
    );
    expect(toRoot.content).toContain('/join collective:portland');

    // Without direct messages, a reply that mentions them stands in (deleted after a minute).
    discord.closeDms(nosy.id);
    const closed = said('psst, DMs closed');
    discord.userSays(portland.id, nosy.id, closed);
    const reply = await discord.waitForMessage(
      portland.id,
      (m) => m.source === 'bot' && m.content.startsWith(`<@${nosy.id}> `),
      10_000,
    );
    expect(reply.content).toMatch(/\*\*not\*\* sent to the collective/);
    discord.closeDms(nosy.id, { open: true });

    const members = said('after the outsiders');
    discord.userSays(portland.id, ana.id, members);
    await erinSees(members);
    await settle();
    const read = await erinReads();
    for (const text of [unregistered, outsider, closed]) {
      expect(read.some((m) => m.text.includes(text))).toBe(false);
      expect(stack.emulator.botMessages(tara.id).some((m) => m.text.includes(text))).toBe(false);
      expect(puppets(text)).toEqual([]);
      expect(puppets(text, assembly)).toEqual([]);
    }
  });

  it('answers wrong use of commands with help', async () => {
    expect(await ask(ana, 'members', {}, lobby)).toMatch(
      /^Which collective\? Add it, or run the command in a channel linked to one\.\nUsage: `\/members \[collective:NAME\]`/,
    );
    expect(await ask(ana, 'vote', { proposal: 999, choice: 'yes' })).toMatch(
      /^There is no open proposal #999 in @portland\.\nNo open proposals/,
    );
    expect(await ask(nosy, 'register', { name: 'x!' })).toMatch(/`\/register name:NAME`/);
    expect(await ask(nosy, 'members', { collective: 'portland' })).toBe(
      'You have no Komrade identity here yet. Start with `/register name:NAME`.',
    );
    expect(await ask(ana, 'register', { name: 'another' })).toBe(
      'You are already registered as @ana.',
    );
    expect(await ask(ana, 'propose remove', { member: 'no such!' })).toMatch(
      /\/propose remove member:NAME/,
    );
    expect(await ask(ana, 'members', { collective: 'not a name' })).toMatch(
      /^A name may contain only .*\nUsage: `\/members \[collective:NAME\]`/,
    );
    expect(await ask(ana, 'unlink', {}, lobby)).toBe('This channel is not linked to a collective.');
    expect(await ask(root, 'vouch', { candidate: 'nosy' })).toMatch(
      /^You are not a member of that collective, nor waiting to join it\. `\/join \[collective:NAME\] \[note:TEXT\]` asks to join\./,
    );
    expect(await ask(ana, 'members', { collective: 'nowhere' })).toBe(
      'No komrade or collective is registered under that name.',
    );
    expect(await ask(ana, 'help')).toContain('`/register name:NAME`');
  });

  it('restarts without losing a message queued in between or a delivery', async () => {
    // ben's message is sealed and queued, but the Operator refuses collective sends for now.
    proxy.holdCollectiveSends(true);
    const queued = said('Queued across a restart');
    discord.userSays(portland.id, ben.id, queued);
    await expect.poll(() => proxy.refused, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    const { dataDir, masterKey } = bridge;
    const firstRunLogs = bridge.logs;
    await bridge.stop();

    // While the Discord bridge is away: a Telegram message, a CLI message, and cleo in #portland.
    const fromTelegram = said('While the bridge was down');
    await taraAsks(`/say portland ${fromTelegram}`, /Sealed for 4 members/);
    const fromCli = said('Also while it was down');
    await erin(['collective', 'send', '@portland', fromCli]);
    const missed = said('Written while the bridge was away');
    discord.userSays(portland.id, cleo.id, missed);
    proxy.holdCollectiveSends(false);

    bridge = await startDiscordBridge({
      emulator: discord,
      redis: stack.redis,
      operatorUrl: proxy.url,
      prefix,
      dataDir,
      masterKey,
    });
    for (const text of [fromTelegram, fromCli]) {
      await discord.waitForMessage(
        portland.id,
        (m) => m.source === 'webhook' && m.content === text,
        20_000,
      );
    }
    await stack.emulator.waitForBotMessage(
      tara.id,
      (m) => m.text === `[@portland] @ben (discord): ${queued}`,
      30_000,
    );
    await stack.emulator.waitForBotMessage(
      tara.id,
      (m) => m.text === `[@portland] @cleo (discord): ${missed}`,
      20_000,
    );
    await erinSees(queued);
    await erinSees(missed);

    await settle();
    for (const text of [fromTelegram, fromCli]) {
      expect(puppets(text)).toHaveLength(1);
      expect(puppets(text, assembly)).toHaveLength(1);
    }
    // Written in #portland: shown there by Discord itself, in #assembly by one puppet.
    for (const text of [queued, missed]) {
      expect(puppets(text)).toEqual([]);
      expect(puppets(text, assembly)).toHaveLength(1);
    }
    expect(taraShown(queued)).toHaveLength(1);
    expect(taraShown(missed)).toHaveLength(1);
    expect(discord.webhooks(portland.id)).toHaveLength(1);
    // Nothing secret in the logs: no token, no master key, no message text.
    const logs = [...firstRunLogs, ...bridge.logs].join('\n');
    expect(logs).not.toContain(discord.token);
    expect(logs).not.toContain(discord.webhooks(portland.id)[0]?.token);
    expect(logs).not.toContain(masterKey);
    expect(logs).not.toContain(MARKER);
    for (const id of [ana.id, ben.id, cleo.id, root.id, nosy.id, portland.id, assembly.id]) {
      expect(logs).not.toContain(id);
    }
  });

  it('ends the links of a member who leaves; members then read by direct message', async () => {
    expect(await ask(ana, 'leave', { collective: 'portland' })).toBe(
      'You left @portland; the 2 channels you linked to it no longer carry it.',
    );
    for (const channel of [portland, assembly]) {
      await discord.waitForMessage(channel.id, (m) =>
        m.content.startsWith('This channel no longer carries @portland'),
      );
    }
    const after = said('After ana left');
    await taraAsks(`/say portland ${after}`, /Sealed for 3 members of @portland/);
    for (const user of [ben, cleo]) {
      const dm = await discord.waitForDm(
        user.id,
        (m) => m.content === `**[@portland] @tara** (telegram): ${after}`,
        20_000,
      );
      // Sent under a nonce derived from the delivery: Discord drops a send repeated after a crash.
      const call = discord.restCalls.find(
        (c) =>
          c.method === 'POST' &&
          c.path === `/channels/${dm.channelId}/messages` &&
          (c.body as { content?: unknown }).content === dm.content,
      );
      expect(call?.body).toMatchObject({
        nonce: expect.stringMatching(/^000[A-Za-z0-9_-]{22}$/) as unknown,
        enforce_nonce: true,
      });
    }
    // Nothing is bridged from the channel any more, and nothing is posted in it.
    const unlinked = said('In a channel no longer linked');
    discord.userSays(portland.id, ben.id, unlinked);
    await settle();
    expect(puppets(after)).toEqual([]);
    expect(puppets(after, assembly)).toEqual([]);
    expect(stack.emulator.botMessages(tara.id).some((m) => m.text.includes(unlinked))).toBe(false);
  });
});
