/**
 * The chat-surface contract run against each surface: the real grammY against the Bot API
 * emulator, the real discord.js against the Discord emulator, each adapter with a real Operator and
 * Redis. The drivers use only what the adapters export: their start functions, their kit
 * `Surface`s and their `ChatSurface` classes.
 */
import { startDiscordAdapter } from '../../adapters/discord/adapter.js';
import { DiscordSurface } from '../../adapters/discord/discord-surface.js';
import { discordSurface } from '../../adapters/discord/discord-surface-kit.js';
import { PuppetPoster } from '../../adapters/discord/puppets.js';
import { TELEGRAM } from '../../adapters/telegram/surface.js';
import { TelegramSurface } from '../../adapters/telegram/telegram-surface.js';
import { typedOn, writeCommand, type CommandSpec } from '../../bridge/index.js';
import { createJsonLogger } from '../../common/logging/index.js';
import {
  describeChatSurfaceContract,
  type ChatSurfaceDriver,
  type ShownMessage,
} from '../support/chat-surface-contract.js';
import { registerOnDiscord, slash } from '../support/discord-bridge.js';
import {
  startDiscordEmulator,
  type EmulatedUser as DiscordUser,
} from '../support/discord-emulator.js';
import { startAdapterHarness } from '../support/adapter-harness.js';
import { startOperatorProcess } from '../support/operator-process.js';
import { startRedisServer, testPrefix } from '../support/redis-server.js';
import { register, startTelegramStack, telegramUser } from '../support/telegram-bridge.js';
import type { EmulatedUser as TelegramUser } from '../support/telegram-emulator.js';

/** Waits until `count()` stops growing: a split answer arrives as several messages in a row. */
async function quiet(count: () => number): Promise<void> {
  let seen = -1;
  while (seen !== count()) {
    seen = count();
    await new Promise((r) => setTimeout(r, 400));
  }
}

/** Words for `values`, as a user types them after the command. */
const asWords = (values: Readonly<Record<string, string | number>>): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));

/** What a Discord client refuses to send (it never reaches the bot). */
const CLIENT_REFUSES = /is required|cannot take|needs a subcommand|has no option/;

async function telegramDriver(): Promise<ChatSurfaceDriver<TelegramUser>> {
  const stack = await startTelegramStack();
  const { emulator } = stack;
  const { adapter } = stack.bridge;
  // grammY's transformers see every call: remember how each message was sent.
  const parseModes = new Map<number, unknown>();
  adapter.bot.api.config.use(async (prev, method, payload, signal) => {
    const result = await prev(method, payload, signal);
    if (method === 'sendMessage' && result.ok) {
      const sent = result.result as { message_id: number };
      parseModes.set(sent.message_id, (payload as { parse_mode?: unknown }).parse_mode);
    }
    return result;
  });
  const surface = TELEGRAM;
  const answers = async (user: TelegramUser, text: string): Promise<string[]> => {
    const before = emulator.botMessages(user.id).length;
    emulator.userSends(user, text);
    await emulator.waitFor(
      () => (emulator.botMessages(user.id).length > before ? true : undefined),
      20_000,
      `an answer to ${text.slice(0, 40)}`,
    );
    await quiet(() => emulator.botMessages(user.id).length);
    return emulator
      .botMessages(user.id)
      .slice(before)
      .map((m) => m.text);
  };
  return {
    surface,
    engine: adapter.engine,
    chatSurface: new TelegramSurface(adapter.bot.api),
    newUser: (label) => Promise.resolve(telegramUser(label)),
    register: (user, name) => register(emulator, user, name),
    run: (user, spec, values) =>
      answers(
        user,
        writeCommand(spec, 'words', asWords(values), { typed: typedOn(surface, spec) }),
      ),
    runWithExtraWord: async (user, spec) => {
      // Free text takes every word that follows.
      if (spec.args.some((arg) => arg.kind === 'text')) return undefined;
      const typed = typedOn(surface, spec);
      const full = writeCommand(spec, 'words', goodWords(spec), { typed });
      return answers(user, `${full} unexpected`);
    },
    runUnknown: (user, typed) => answers(user, `/${typed}`),
    userKey: (user) => `telegram:${user.id}`,
    chatOf: (user) => String(user.id),
    pushed: (user) =>
      emulator.botMessages(user.id).map((m): ShownMessage => ({
        text: m.text,
        markup: parseModes.get(m.message_id) === 'HTML' ? 'html' : 'none',
        mentionsOff: true,
      })),
    stop: () => stack.stop(),
  };
}

/** Values every argument takes (optional ones too), for a command otherwise used right. */
function goodWords(spec: CommandSpec): Record<string, string> {
  return Object.fromEntries(
    spec.args.map((arg) => [
      arg.name,
      arg.kind === 'integer' || arg.kind === 'days'
        ? String(arg.min ?? 1)
        : arg.kind === 'choice'
          ? (arg.choices?.[0] ?? 'yes')
          : arg.kind === 'new-name'
            ? 'fresh_name'
            : 'portland',
    ]),
  );
}

async function discordDriver(): Promise<ChatSurfaceDriver<DiscordUser>> {
  const [operator, redis, emulator] = await Promise.all([
    startOperatorProcess({ powBits: 8 }),
    startRedisServer(),
    startDiscordEmulator({ heartbeatIntervalMs: 1000 }),
  ]);
  const guild = emulator.createGuild({ name: 'Contract' });
  const lobby = emulator.createChannel(guild.id, 'lobby');
  const bridge = await startAdapterHarness(
    { redis, operatorUrl: operator.url, prefix: testPrefix() },
    {
      platform: 'discord',
      start: (host) =>
        startDiscordAdapter({ ...host, token: emulator.token, apiRoot: emulator.url }),
      userKey: (user: DiscordUser) => `discord:${user.id}`,
    },
  );
  const { adapter } = bridge;
  const logger = createJsonLogger({ level: 'error', write: () => undefined });
  const surface = discordSurface;
  const slashAnswers = async (
    user: DiscordUser,
    name: string,
    options: Record<string, string | number>,
  ): Promise<string[] | undefined> => {
    let reply;
    try {
      reply = await slash(emulator, lobby.id, user, name, options);
    } catch (error) {
      if (error instanceof Error && CLIENT_REFUSES.test(error.message)) return undefined;
      throw error;
    }
    await quiet(() => reply.followUps.length);
    return [reply.content, ...reply.followUps.map((m) => m.content)];
  };
  let users = 0;
  return {
    surface,
    engine: adapter.engine,
    chatSurface: new DiscordSurface({
      client: adapter.client,
      store: adapter.store,
      puppets: new PuppetPoster(adapter.client, adapter.store, logger),
      logger,
      isMember: () => Promise.resolve(false),
    }),
    newUser: (label) => {
      users += 1;
      // Admins see every command (a channel manager's /link included).
      return Promise.resolve(
        emulator.addMember(guild.id, { username: `${label}${users}`, admin: true }),
      );
    },
    register: (user, name) => registerOnDiscord(emulator, lobby.id, user, name),
    run: (user, spec, values) =>
      slashAnswers(
        user,
        spec.keyword === undefined
          ? typedOn(surface, spec)
          : `${typedOn(surface, spec)} ${spec.keyword.word}`,
        { ...values },
      ),
    // Options: nothing can follow a slash command.
    runWithExtraWord: () => Promise.resolve(undefined),
    runUnknown: async (user, typed) => {
      // A command a former version registered, still in Discord's menu.
      await adapter.client.application?.commands.create(
        { name: typed, description: 'A command this version does not have' },
        guild.id,
      );
      return (await slashAnswers(user, typed, {})) ?? [];
    },
    userKey: (user) => `discord:${user.id}`,
    chatOf: (user) => user.id,
    pushed: (user) =>
      emulator.dms(user.id).map((m): ShownMessage => {
        const call = emulator.restCalls.find(
          (c) =>
            c.method === 'POST' &&
            c.path === `/channels/${m.channelId}/messages` &&
            (c.body as { content?: unknown } | null)?.content === m.content,
        );
        const body = (call?.body ?? {}) as {
          allowed_mentions?: { parse?: unknown[] };
          nonce?: unknown;
        };
        return {
          text: m.content,
          markup: 'markdown',
          mentionsOff:
            Array.isArray(body.allowed_mentions?.parse) && body.allowed_mentions.parse.length === 0,
          ...(typeof body.nonce === 'string' ? { sendKey: body.nonce } : {}),
        };
      }),
    stop: async () => {
      await bridge.cleanup();
      await emulator.close();
      await Promise.all([operator.cleanup(), redis.cleanup()]);
    },
  };
}

describeChatSurfaceContract('Telegram', telegramDriver);
describeChatSurfaceContract('Discord', discordDriver);
