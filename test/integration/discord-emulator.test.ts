/**
 * The Discord emulator against the real discord.js client: login and caches, messages, slash
 * commands (reply, ephemeral, deferred), command registration, webhooks with Discord's limits and
 * 429s handled by discord.js's own queue, direct messages, message history, bad tokens, and
 * gateway resumes after a disconnect.
 */
import { once } from 'node:events';
import {
  ApplicationCommandOptionType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  PermissionFlagsBits,
  WebhookClient,
  type ChatInputCommandInteraction,
  type Message,
  type TextChannel,
} from 'discord.js';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startDiscordEmulator,
  type DiscordEmulator,
  type EmulatedChannel,
  type EmulatedGuild,
  type EmulatedUser,
} from '../support/discord-emulator.js';

let emulator: DiscordEmulator;
let client: Client;
let guild: EmulatedGuild;
let general: EmulatedChannel;
let alice: EmulatedUser;
let bob: EmulatedUser;
/** What the bot does with the next slash commands; each test sets its own. */
let onCommand: (interaction: ChatInputCommandInteraction) => Promise<void> = async () => {
  await Promise.resolve();
};
const commandErrors: unknown[] = [];

/** A discord.js client pointed at the emulator. */
const newClient = () =>
  new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
    ],
    rest: { api: emulator.url },
  });

/** The next messageCreate in `channelId` matching `predicate`. */
const nextMessage = (channelId: string, predicate: (m: Message) => boolean = () => true) =>
  new Promise<Message>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(Events.MessageCreate, listener);
      reject(new Error('no messageCreate in 5 s'));
    }, 5000);
    const listener = (message: Message) => {
      if (message.channelId !== channelId || !predicate(message)) return;
      clearTimeout(timer);
      client.off(Events.MessageCreate, listener);
      resolve(message);
    };
    client.on(Events.MessageCreate, listener);
  });

beforeAll(async () => {
  emulator = await startDiscordEmulator({ heartbeatIntervalMs: 200 });
  guild = emulator.createGuild({ name: 'Komrades' });
  general = emulator.createChannel(guild.id, 'general');
  alice = emulator.addMember(guild.id, { username: 'alice', admin: true });
  bob = emulator.addMember(guild.id, { username: 'bob' });
  client = newClient();
  client.on(Events.InteractionCreate, (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    onCommand(interaction).catch((error: unknown) => {
      commandErrors.push(error);
    });
  });
});

afterAll(async () => {
  await client.destroy();
  await emulator.close();
});

describe('discord.js against the Discord emulator', () => {
  it('logs in: READY and GUILD_CREATE fill the caches', async () => {
    const ready = once(client, Events.ClientReady);
    await client.login(emulator.token);
    await ready;
    expect(client.user?.id).toBe(emulator.botUser.id);
    expect(client.user?.bot).toBe(true);
    expect(client.application?.id).toBe(emulator.applicationId);
    const cachedGuild = client.guilds.cache.get(guild.id);
    expect(cachedGuild?.name).toBe('Komrades');
    expect(cachedGuild?.available).toBe(true);
    expect(cachedGuild?.roles.cache.get(guild.adminRoleId)?.permissions.has('Administrator')).toBe(
      true,
    );
    const channel = client.channels.cache.get(general.id);
    expect(channel?.isTextBased()).toBe(true);
    expect((channel as TextChannel).name).toBe('general');
    expect((channel as TextChannel).guildId).toBe(guild.id);
    expect(emulator.gateway.identifies).toBe(1);
    expect(emulator.restCalls.map((c) => `${c.method} ${c.path}`)).toContain('GET /gateway/bot');
  });

  it('answers heartbeats', async () => {
    await expect
      .poll(() => emulator.gateway.heartbeats, { timeout: 3000 })
      .toBeGreaterThanOrEqual(1);
    await expect.poll(() => client.ws.ping, { timeout: 3000 }).toBeGreaterThanOrEqual(0);
  });

  it('delivers a channel created later, and a user message as messageCreate', async () => {
    const created = once(client, Events.ChannelCreate);
    const later = emulator.createChannel(guild.id, 'later');
    await created;
    expect(client.channels.cache.has(later.id)).toBe(true);

    const arriving = nextMessage(general.id);
    const sent = emulator.userSays(general.id, alice.id, 'Hello, komrades');
    const message = await arriving;
    expect(message.id).toBe(sent.id);
    expect(message.content).toBe('Hello, komrades');
    expect(message.author.username).toBe('alice');
    expect(message.author.id).toBe(alice.id);
    expect(message.author.bot).toBe(false);
    expect(message.guildId).toBe(guild.id);
    expect(message.member?.id).toBe(alice.id);
  });

  it('records commands registered with commands.set for a guild', async () => {
    const registered = await client.application!.commands.set(
      [
        {
          name: 'echo',
          description: 'Repeat something',
          options: [
            {
              type: ApplicationCommandOptionType.String,
              name: 'text',
              description: 'What to say',
              required: true,
            },
            { type: ApplicationCommandOptionType.Integer, name: 'times', description: 'How often' },
            { type: ApplicationCommandOptionType.Boolean, name: 'loud', description: 'Shout' },
          ],
        },
        { name: 'slow', description: 'Think first' },
        {
          name: 'admin',
          description: 'For organizers',
          defaultMemberPermissions: PermissionFlagsBits.ManageChannels,
        },
      ],
      guild.id,
    );
    expect([...registered.values()].map((c) => c.name).sort()).toEqual(['admin', 'echo', 'slow']);
    const recorded = emulator.commands();
    expect(recorded.map((c) => c.name).sort()).toEqual(['admin', 'echo', 'slow']);
    expect(recorded.every((c) => c.guildId === guild.id)).toBe(true);
    const echo = recorded.find((c) => c.name === 'echo');
    expect(echo?.options.map((o) => [o.name, o.type])).toEqual([
      ['text', 3],
      ['times', 4],
      ['loud', 5],
    ]);
    expect(registered.find((c) => c.name === 'echo')?.id).toBe(echo?.id);
    expect(recorded.find((c) => c.name === 'admin')?.defaultMemberPermissions).toBe(
      String(PermissionFlagsBits.ManageChannels),
    );
  });

  it('delivers a slash command as interactionCreate; an ephemeral reply reaches the emulator', async () => {
    const seen: string[] = [];
    onCommand = async (interaction) => {
      seen.push(
        `${interaction.commandName} ${interaction.options.getString('text', true)} ` +
          `${interaction.options.getInteger('times') ?? 0} ${String(interaction.options.getBoolean('loud'))} ` +
          `${interaction.user.username} ${interaction.channelId} ${String(interaction.inGuild())}`,
      );
      await interaction.reply({
        content: `you said ${interaction.options.getString('text', true)}`,
        flags: MessageFlags.Ephemeral,
      });
    };
    const reply = await emulator.slash(general.id, alice.id, 'echo', {
      text: 'solidarity',
      times: 3,
      loud: true,
    });
    expect(seen).toEqual([`echo solidarity 3 true alice ${general.id} true`]);
    expect(reply.callbackType).toBe(4);
    expect(reply.content).toBe('you said solidarity');
    expect(reply.ephemeral).toBe(true);
    // Ephemeral answers are not channel messages.
    expect(emulator.messages(general.id).map((m) => m.content)).not.toContain(
      'you said solidarity',
    );
    expect(commandErrors).toEqual([]);
  });

  it('posts a public reply with embeds in the channel', async () => {
    onCommand = async (interaction) => {
      await interaction.reply({ content: 'public', embeds: [{ title: 'Card', description: 'x' }] });
    };
    const reply = await emulator.slash(general.id, bob.id, 'echo', { text: 'hi' });
    expect(reply.ephemeral).toBe(false);
    expect(reply.embeds).toEqual([expect.objectContaining({ title: 'Card' })]);
    const posted = emulator.messages(general.id).find((m) => m.content === 'public');
    expect(posted?.source).toBe('interaction');
    expect(posted?.author.id).toBe(emulator.botUser.id);
  });

  it('exposes member permissions: admins have ManageChannels and Administrator', async () => {
    onCommand = async (interaction) => {
      const p = interaction.memberPermissions;
      await interaction.reply({
        content: `manage=${String(p?.has('ManageChannels'))} admin=${String(p?.has('Administrator'))}`,
        flags: MessageFlags.Ephemeral,
      });
    };
    expect((await emulator.slash(general.id, alice.id, 'echo', { text: 'a' })).content).toBe(
      'manage=true admin=true',
    );
    expect((await emulator.slash(general.id, bob.id, 'echo', { text: 'b' })).content).toBe(
      'manage=false admin=false',
    );
    // Discord hides a command from members without its default permissions.
    expect(() => emulator.slash(general.id, bob.id, 'admin')).toThrow(/may not see \/admin/);
    expect(() => emulator.slash(general.id, bob.id, 'nonexistent')).toThrow(/not registered/);
  });

  it('supports a deferred reply finished with editReply', async () => {
    onCommand = async (interaction) => {
      await interaction.deferReply();
      await new Promise((r) => setTimeout(r, 100));
      await interaction.editReply('thought about it');
    };
    const reply = await emulator.slash(general.id, alice.id, 'slow');
    expect(reply.deferred).toBe(true);
    expect(reply.callbackType).toBe(5);
    expect(reply.content).toBe('thought about it');
    expect(reply.ephemeral).toBe(false);
    const original = emulator
      .messages(general.id)
      .find((m) => m.interactionId === reply.interactionId);
    expect(original?.content).toBe('thought about it');
    expect(original?.edits).toBe(1);
  });

  it('rejects a slash command the bot never acknowledges, as Discord drops it after 3 s', async () => {
    onCommand = async () => {
      await Promise.resolve();
    };
    const start = Date.now();
    await expect(emulator.slash(general.id, alice.id, 'slow')).rejects.toThrow(/acknowledge/);
    expect(Date.now() - start).toBeGreaterThanOrEqual(2900);
  });

  it('creates a webhook and posts through it under any username', async () => {
    const channel = client.channels.cache.get(general.id) as TextChannel;
    const webhook = await channel.createWebhook({ name: 'Komrade bridge' });
    expect(webhook.token).toBeTruthy();
    expect(emulator.webhooks(general.id).map((w) => w.id)).toEqual([webhook.id]);

    const arriving = nextMessage(general.id, (m) => m.webhookId === webhook.id);
    const viaWebhook = new WebhookClient(
      { id: webhook.id, token: webhook.token },
      { rest: { api: emulator.url } },
    );
    try {
      const sent = await viaWebhook.send({
        username: 'alice (komrade)',
        avatarURL: 'https://example.org/alice.png',
        content: 'From the other side',
      });
      expect(sent.webhook_id).toBe(webhook.id);
      const seen = await arriving;
      expect(seen.author.username).toBe('alice (komrade)');
      expect(seen.content).toBe('From the other side');
    } finally {
      viaWebhook.destroy();
    }
    // The Webhook object from createWebhook posts through the bot's own REST client.
    await webhook.send({ username: 'bob (komrade)', content: 'Second' });
    const posted = emulator.messages(general.id).filter((m) => m.webhookId === webhook.id);
    expect(posted.map((m) => [m.author.username, m.content, m.avatarUrl])).toEqual([
      ['alice (komrade)', 'From the other side', 'https://example.org/alice.png'],
      ['bob (komrade)', 'Second', null],
    ]);
    // Discord refuses webhook usernames that impersonate it.
    await expect(webhook.send({ username: 'Discord', content: 'x' })).rejects.toMatchObject({
      code: 50035,
    });
  });

  it('answers a burst of 12 webhook messages with 429s; discord.js retries and keeps the order', async () => {
    const burstChannel = emulator.createChannel(guild.id, 'burst');
    const channel = (await client.channels.fetch(burstChannel.id)) as TextChannel;
    const webhook = await channel.createWebhook({ name: 'Burst' });
    const before = emulator.rateLimitedCount;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        webhook.send({ username: `komrade ${i}`, content: `burst ${i}` }),
      ),
    );
    expect(emulator.rateLimitedCount - before).toBeGreaterThanOrEqual(1);
    const tooMany = emulator.restCalls.filter(
      (c) => c.status === 429 && c.path === `/webhooks/${webhook.id}/${webhook.token}`,
    );
    expect(tooMany.length).toBe(emulator.rateLimitedCount - before);
    expect(emulator.messages(burstChannel.id).map((m) => m.content)).toEqual(
      Array.from({ length: 12 }, (_, i) => `burst ${i}`),
    );
  });

  it('refuses an 11th webhook in one channel with Discord error 30007', async () => {
    const crowded = emulator.createChannel(guild.id, 'crowded');
    const channel = (await client.channels.fetch(crowded.id)) as TextChannel;
    for (let i = 0; i < 10; i++) await channel.createWebhook({ name: `hook ${i}` });
    const eleventh = await channel.createWebhook({ name: 'one too many' }).catch((e: unknown) => e);
    expect(eleventh).toBeInstanceOf(DiscordAPIError);
    expect(eleventh).toMatchObject({
      code: 30007,
      status: 400,
      message: 'Maximum number of webhooks reached (10)',
    });
    expect((await channel.fetchWebhooks()).size).toBe(10);
    expect(emulator.webhooks(crowded.id)).toHaveLength(10);
  });

  it('posts bot messages and records unknown routes', async () => {
    const channel = client.channels.cache.get(general.id) as TextChannel;
    const sent = await channel.send('Bot speaking');
    expect(emulator.messages(general.id).at(-1)).toMatchObject({
      id: sent.id,
      source: 'bot',
      content: 'Bot speaking',
      webhookId: null,
    });
    await expect(client.rest.get('/channels/1/frobnicate')).rejects.toMatchObject({
      status: 404,
      code: 0,
    });
    expect(emulator.unknownRoutes.map((c) => `${c.method} ${c.path}`)).toContain(
      'GET /channels/1/frobnicate',
    );
  });

  it('sends direct messages; a user who closed them gets none (50007)', async () => {
    const sent = await client.users.send(bob.id, 'Only for you');
    expect(emulator.dms(bob.id).map((m) => [m.content, m.source, m.author.id])).toEqual([
      ['Only for you', 'bot', emulator.botUser.id],
    ]);
    expect(sent.channelId).toBe(emulator.dms(bob.id)[0]?.channelId);
    // The same DM channel again; a DM is not a message of any guild channel.
    const dm = await client.users.createDM(bob.id);
    expect(dm.id).toBe(sent.channelId);
    await dm.send('Second');
    expect((await emulator.waitForDm(bob.id, (m) => m.content === 'Second')).channelId).toBe(dm.id);
    expect(emulator.messages(general.id).map((m) => m.content)).not.toContain('Only for you');

    emulator.closeDms(alice.id);
    await expect(client.users.send(alice.id, 'x')).rejects.toMatchObject({ code: 50007 });
    expect(emulator.dms(alice.id)).toEqual([]);
    emulator.closeDms(alice.id, { open: true });
    await client.users.send(alice.id, 'Open again');
    expect(emulator.dms(alice.id).map((m) => m.content)).toEqual(['Open again']);
  });

  it('lists channel messages, users included, after a given id', async () => {
    const history = emulator.createChannel(guild.id, 'history');
    const first = emulator.userSays(history.id, alice.id, 'one');
    emulator.userSays(history.id, bob.id, 'two');
    emulator.userSays(history.id, alice.id, 'three');
    const channel = (await client.channels.fetch(history.id)) as TextChannel;
    const after = await channel.messages.fetch({ after: first.id, limit: 100 });
    expect(
      [...after.values()]
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))
        .map((m) => `${m.author.username}: ${m.content}`),
    ).toEqual(['bob: two', 'alice: three']);
    const latest = await channel.messages.fetch({ limit: 1 });
    expect([...latest.values()].map((m) => m.content)).toEqual(['three']);
  });

  it('refuses a bad token over REST and over the gateway', async () => {
    const stranger = newClient();
    await expect(stranger.login('not-the-token')).rejects.toMatchObject({ code: 'TokenInvalid' });
    await stranger.destroy();

    const socket = new WebSocket(`${emulator.gatewayUrl}/?v=10&encoding=json`);
    const hello = (await once(socket, 'message')) as [Buffer];
    expect(JSON.parse(hello[0].toString())).toMatchObject({ op: 10 });
    socket.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
    const [code] = (await once(socket, 'close')) as [number];
    expect(code).toBe(4004);
  });

  it('resumes after a gateway disconnect and replays what was missed', async () => {
    const resumed = once(client, Events.ShardResume);
    expect(emulator.disconnectGateway()).toBe(1);
    const arriving = nextMessage(general.id, (m) => m.content === 'said while you were away');
    emulator.userSays(general.id, bob.id, 'said while you were away');
    await resumed;
    expect((await arriving).author.username).toBe('bob');
    expect(emulator.gateway.resumes).toBe(1);
    expect(emulator.gateway.identifies).toBe(1);

    const after = nextMessage(general.id, (m) => m.content === 'after the resume');
    emulator.userSays(general.id, alice.id, 'after the resume');
    await after;
  });

  it('identifies anew when the session cannot be resumed', async () => {
    const readyAgain = once(client, Events.ShardReady);
    emulator.disconnectGateway({ resumable: false });
    await readyAgain;
    expect(emulator.gateway.invalidSessions).toBe(1);
    expect(emulator.gateway.identifies).toBe(2);
    const arriving = nextMessage(general.id, (m) => m.content === 'new session');
    emulator.userSays(general.id, alice.id, 'new session');
    expect((await arriving).author.id).toBe(alice.id);
    expect(commandErrors).toEqual([]);
  });
});
