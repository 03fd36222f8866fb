/** The emulated Discord: its world, REST routes, interactions, webhooks and gateway, in one class. */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import { ApiError, invalidForm, unknown } from './api-error.js';
import {
  ALL_PERMISSIONS,
  DEFAULT_LIMITS,
  DEFAULT_BOT_PERMISSIONS,
  DISCORD_EPOCH,
  EVERYONE_PERMISSIONS,
  Intent,
  MAX_WEBHOOKS_PER_CHANNEL,
  MessageFlag,
  OptionType,
  Permission,
} from './protocol.js';
import { bucketHash, type Limiter, rateHeaders, Window } from './rate-limits.js';
import { isObject, noContent, ok, param, seconds } from './replies.js';
import { parseBody, readBody } from './request-body.js';
import { Gateway } from './gateway.js';
import type {
  ApiRequest,
  DmChannel,
  GuildState,
  InteractionState,
  Json,
  Member,
  Params,
  Reply,
  Resolved,
  Role,
  Route,
} from './state.js';
import type {
  CommandOptionDefinition,
  DiscordEmulatorOptions,
  DiscordRateLimits,
  EmulatedChannel,
  EmulatedGuild,
  EmulatedMessage,
  EmulatedUpload,
  EmulatedUser,
  EmulatedWebhook,
  GatewayStats,
  InteractionReply,
  MessageSource,
  RateLimit,
  RegisteredCommand,
  RestCall,
  SlashValue,
} from './types.js';

/** The emulator; start it with {@link startDiscordEmulator}. */
export class DiscordEmulator {
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: EmulatedUser;
  /** Every REST request answered, oldest first. */
  readonly restCalls: RestCall[] = [];
  readonly gateway: GatewayStats = {
    connections: 0,
    identifies: 0,
    resumes: 0,
    invalidSessions: 0,
    heartbeats: 0,
  };
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #gateway: Gateway;
  readonly #ackTimeoutMs: number;
  readonly #limits: DiscordRateLimits;
  readonly #botPermissions: bigint;
  #port = 0;
  #lastId = 0n;
  #rateLimited = 0;
  readonly #windows = new Map<string, Window>();
  readonly #users = new Map<string, EmulatedUser>();
  readonly #guilds = new Map<string, GuildState>();
  readonly #channels = new Map<string, EmulatedChannel>();
  /** Direct-message channels by id, and by the user they reach. */
  readonly #dmChannels = new Map<string, DmChannel>();
  readonly #dmOfUser = new Map<string, string>();
  /** Users who do not accept direct messages from the bot. */
  readonly #closedDms = new Set<string>();
  readonly #messages: EmulatedMessage[] = [];
  readonly #webhooks = new Map<string, EmulatedWebhook>();
  readonly #commands: (RegisteredCommand & { readonly raw: Json })[] = [];
  readonly #interactions = new Map<string, InteractionState>();
  /** Files users attached to slash command options, by attachment id. */
  readonly #uploads = new Map<string, EmulatedUpload>();
  readonly #waiters = new Set<() => void>();
  readonly #routes: Route[];

  constructor(options: DiscordEmulatorOptions = {}) {
    this.applicationId = this.#snowflake();
    this.botUser = {
      id: this.applicationId,
      username: options.botUsername ?? 'Komrade',
      bot: true,
    };
    this.#users.set(this.botUser.id, this.botUser);
    // Shaped like a real token: base64 of the bot's id, a timestamp part, an HMAC part.
    this.token =
      options.token ??
      `${Buffer.from(this.botUser.id).toString('base64url')}.${randomBytes(4).toString('base64url')}.${randomBytes(20).toString('base64url')}`;
    this.#gateway = new Gateway({
      token: this.token,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      stats: this.gateway,
      ready: (sessionId) => this.#readyPayload(sessionId),
    });
    this.#ackTimeoutMs = options.interactionAckTimeoutMs ?? 3000;
    this.#limits = { ...DEFAULT_LIMITS, ...options.rateLimits };
    this.#botPermissions = options.botPermissions ?? DEFAULT_BOT_PERMISSIONS;
    this.#routes = this.#buildRoutes();
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        console.error('discord emulator:', error);
        res.destroy();
      });
    });
    this.#wss = new WebSocketServer({ server: this.#server });
    this.#wss.on('connection', (socket, req) => {
      this.#gateway.onConnection(socket, req);
    });
  }

  /** Starts listening on a free loopback port. */
  async start(): Promise<void> {
    await new Promise<void>((resolveListen, rejectListen) => {
      this.#server.once('error', rejectListen);
      this.#server.listen(0, '127.0.0.1', () => {
        resolveListen();
      });
    });
    const address = this.#server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** Where files users attached are served, like Discord's CDN. */
  get cdnUrl(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The REST base to give discord.js as `rest.api`. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }

  /** The gateway address `GET /gateway/bot` returns. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}`;
  }

  /** How many 429 answers the emulator served. */
  get rateLimitedCount(): number {
    return this.#rateLimited;
  }

  /** REST requests no emulated route matched, so tests see what discord.js called. */
  get unknownRoutes(): RestCall[] {
    return this.restCalls.filter((call) => call.unknownRoute);
  }

  // ---- Test-facing world building -------------------------------------------------------------

  /** Creates a guild with the bot in it (and an owner); a connected bot gets GUILD_CREATE. */
  createGuild({ name }: { name: string }): EmulatedGuild {
    const id = this.#snowflake();
    const owner: EmulatedUser = { id: this.#snowflake(), username: `${name} owner`, bot: false };
    const guild: EmulatedGuild = {
      id,
      name,
      ownerId: owner.id,
      everyoneRoleId: id,
      adminRoleId: this.#snowflake(),
      botRoleId: this.#snowflake(),
    };
    const state: GuildState = {
      guild,
      roles: [
        { id, name: '@everyone', permissions: EVERYONE_PERMISSIONS, position: 0, managed: false },
        {
          id: guild.adminRoleId,
          name: 'Admin',
          permissions: Permission.Administrator,
          position: 1,
          managed: false,
        },
        {
          id: guild.botRoleId,
          name: this.botUser.username,
          permissions: this.#botPermissions,
          position: 2,
          managed: true,
          botId: this.botUser.id,
        },
      ],
      channels: new Map(),
      members: new Map(),
      createdAt: Date.now(),
    };
    this.#guilds.set(id, state);
    this.#users.set(owner.id, owner);
    const joinedAt = new Date().toISOString();
    state.members.set(owner.id, { user: owner, roles: [guild.adminRoleId], joinedAt });
    state.members.set(this.botUser.id, { user: this.botUser, roles: [guild.botRoleId], joinedAt });
    for (const session of this.#gateway.liveSessions()) {
      this.#gateway.send(session, 'GUILD_CREATE', this.#guildCreatePayload(state));
    }
    return guild;
  }

  /** Creates a text channel; a connected bot gets CHANNEL_CREATE. */
  createChannel(guildId: string, name: string): EmulatedChannel {
    const state = this.#guild(guildId);
    const channel: EmulatedChannel = { id: this.#snowflake(), guildId, name };
    state.channels.set(channel.id, channel);
    this.#channels.set(channel.id, channel);
    this.#gateway.dispatch('CHANNEL_CREATE', this.#channelJson(channel), Intent.Guilds);
    return channel;
  }

  /** Adds a member; `admin` gives them a role with Administrator. */
  addMember(guildId: string, { username, admin = false }: { username: string; admin?: boolean }) {
    const state = this.#guild(guildId);
    const user: EmulatedUser = { id: this.#snowflake(), username, bot: false };
    this.#users.set(user.id, user);
    const member: Member = {
      user,
      roles: admin ? [state.guild.adminRoleId] : [],
      joinedAt: new Date().toISOString(),
    };
    state.members.set(user.id, member);
    this.#gateway.dispatch(
      'GUILD_MEMBER_ADD',
      { ...this.#memberJson(member), guild_id: guildId },
      Intent.GuildMembers,
    );
    return user;
  }

  /** A member writes `content` in a channel: the bot gets MESSAGE_CREATE. */
  userSays(channelId: string, userId: string, content: string): EmulatedMessage {
    const channel = this.#channel(channelId);
    const member = this.#guild(channel.guildId).members.get(userId);
    if (member === undefined) throw new Error(`user ${userId} is not a member of the guild`);
    if (content.length > 2000) throw new Error('Discord clients send at most 2000 characters');
    return this.#storeMessage({
      channel,
      source: 'user',
      author: member.user,
      content,
      webhookId: null,
      avatarUrl: null,
      interactionId: null,
      flags: 0,
      body: {},
      files: [],
    });
  }

  /**
   * A member runs a registered slash command in a channel (`name` may be `'command sub'` for a
   * subcommand). Resolves with the bot's answer: its reply, or for a deferred reply, the first
   * edit of the original (or first follow-up). Rejects if the bot does not acknowledge the
   * interaction in time (Discord's 3 s) or does not finish a deferred reply within `timeoutMs`.
   * Throws at once for what a Discord client would not let the user send: an unregistered
   * command, one the member lacks the default permissions for, a missing or ill-typed option.
   */
  slash(
    channelId: string,
    userId: string,
    name: string,
    options: Record<string, SlashValue> = {},
    { timeoutMs = 10_000 }: { timeoutMs?: number } = {},
  ): Promise<InteractionReply> {
    const channel = this.#channel(channelId);
    const state = this.#guild(channel.guildId);
    const member = state.members.get(userId);
    if (member === undefined) throw new Error(`user ${userId} is not a member of the guild`);
    const [commandName = '', ...path] = name.trim().split(/\s+/);
    const command =
      this.#commands.find((c) => c.name === commandName && c.guildId === state.guild.id) ??
      this.#commands.find((c) => c.name === commandName && c.guildId === null);
    if (command === undefined) throw new Error(`/${commandName} is not registered`);
    const permissions = this.#memberPermissions(state, member);
    if (
      command.defaultMemberPermissions !== null &&
      (permissions & Permission.Administrator) === 0n &&
      (permissions & BigInt(command.defaultMemberPermissions)) !==
        BigInt(command.defaultMemberPermissions)
    ) {
      throw new Error(`${member.user.username} may not see /${commandName}`);
    }
    const resolved: Resolved = {
      users: {},
      members: {},
      channels: {},
      roles: {},
      attachments: {},
    };
    const built = this.#buildOptions(command.options, path, options, state, resolved);
    const id = this.#snowflake();
    const token = `aW50ZXJhY3Rpb246${randomBytes(48).toString('base64url')}`;
    const guildId = state.guild.id;
    const payload: Json = {
      id,
      application_id: this.applicationId,
      type: 2,
      token,
      version: 1,
      data: {
        id: command.id,
        name: command.name,
        type: 1,
        ...(command.guildId === null ? {} : { guild_id: command.guildId }),
        ...(built.length === 0 ? {} : { options: built }),
        ...([
          resolved.users,
          resolved.members,
          resolved.channels,
          resolved.roles,
          resolved.attachments,
        ].some((r) => Object.keys(r).length > 0)
          ? { resolved }
          : {}),
      },
      guild_id: guildId,
      guild: { id: guildId, locale: 'en-US', features: [] },
      channel_id: channel.id,
      channel: { ...this.#channelJson(channel), permissions: String(permissions) },
      member: { ...this.#memberJson(member), permissions: String(permissions) },
      app_permissions: String(this.#memberPermissions(state, this.#botMember(state))),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guildId },
      context: 0,
      attachment_size_limit: 10_485_760,
    };
    return new Promise<InteractionReply>((resolve, reject) => {
      const interaction: InteractionState = {
        id,
        token,
        channel,
        user: member.user,
        commandName: name,
        reply: undefined,
        original: undefined,
        expired: false,
        settled: false,
        resolve,
        reject,
        timers: [],
      };
      const fail = (message: string) => {
        if (interaction.settled) return;
        interaction.settled = true;
        for (const timer of interaction.timers) clearTimeout(timer);
        reject(new Error(message));
      };
      interaction.timers.push(
        setTimeout(() => {
          if (interaction.reply !== undefined) return;
          interaction.expired = true;
          fail(`the bot did not acknowledge /${name} within ${this.#ackTimeoutMs} ms`);
        }, this.#ackTimeoutMs),
        setTimeout(() => {
          fail(`the bot did not finish answering /${name} within ${timeoutMs} ms`);
        }, timeoutMs),
      );
      this.#interactions.set(id, interaction);
      this.#gateway.dispatch('INTERACTION_CREATE', payload, 0);
    });
  }

  // ---- Test-facing observation ----------------------------------------------------------------

  /**
   * What the bot, its webhooks and its interaction answers posted in a channel (not ephemeral
   * answers, not deleted messages), oldest first; `includeUsers` adds the users' messages.
   */
  messages(channelId: string, { includeUsers = false } = {}): EmulatedMessage[] {
    return this.#messages.filter(
      (m) =>
        m.channelId === channelId &&
        !m.deleted &&
        (m.flags & MessageFlag.Ephemeral) === 0 &&
        (includeUsers || m.source !== 'user'),
    );
  }

  /** Resolves with the first (past or future) bot or webhook message matching `predicate`. */
  waitForMessage(
    channelId: string,
    predicate: (message: EmulatedMessage) => boolean,
    timeoutMs = 5000,
  ): Promise<EmulatedMessage> {
    return this.#waitFor(
      () => this.messages(channelId),
      predicate,
      timeoutMs,
      'message',
      (m) => `${m.author.username}: ${m.content}`,
    );
  }

  /** Resolves with the first (past or future) item of `list()` matching `predicate`. */
  #waitFor(
    list: () => EmulatedMessage[],
    predicate: (message: EmulatedMessage) => boolean,
    timeoutMs: number,
    what: string,
    show: (message: EmulatedMessage) => string,
  ): Promise<EmulatedMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = list().find(predicate);
        if (found === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const seen = list().map(show);
        reject(new Error(`no matching ${what} in ${timeoutMs} ms; saw ${JSON.stringify(seen)}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  /** What the bot wrote to a user in direct messages, oldest first. */
  dms(userId: string): EmulatedMessage[] {
    const channelId = this.#dmOfUser.get(userId);
    return channelId === undefined ? [] : this.messages(channelId);
  }

  /** Resolves with the first (past or future) direct message to `userId` matching `predicate`. */
  waitForDm(
    userId: string,
    predicate: (message: EmulatedMessage) => boolean,
    timeoutMs = 5000,
  ): Promise<EmulatedMessage> {
    return this.#waitFor(
      () => this.dms(userId),
      predicate,
      timeoutMs,
      'direct message',
      (m) => m.content,
    );
  }

  /**
   * The user stops accepting direct messages from the bot (their privacy settings): sending them
   * one answers 403 with Discord's code 50007, as Discord does. `open` undoes it.
   */
  closeDms(userId: string, { open = false }: { open?: boolean } = {}): void {
    if (open) this.#closedDms.delete(userId);
    else this.#closedDms.add(userId);
  }

  /** The application commands registered, global and per guild. */
  commands(): RegisteredCommand[] {
    return this.#commands.map((c) => ({
      id: c.id,
      guildId: c.guildId,
      name: c.name,
      description: c.description,
      type: c.type,
      options: c.options,
      defaultMemberPermissions: c.defaultMemberPermissions,
    }));
  }

  /** The webhooks of a channel. */
  webhooks(channelId: string): EmulatedWebhook[] {
    return [...this.#webhooks.values()].filter((w) => w.channelId === channelId);
  }

  /**
   * Closes every gateway connection, as Discord does now and then. With `resumable` (the default)
   * the sessions live on: events meanwhile are kept and replayed when the client resumes. Without
   * it, a RESUME gets INVALID_SESSION and the client must identify anew. Returns how many
   * connections were closed.
   */
  disconnectGateway({
    code = 4000,
    resumable = true,
  }: { code?: number; resumable?: boolean } = {}) {
    return this.#gateway.disconnect(code, resumable);
  }

  /** Stops everything; pending `slash` promises reject. */
  async close(): Promise<void> {
    for (const interaction of this.#interactions.values()) {
      for (const timer of interaction.timers) clearTimeout(timer);
      if (!interaction.settled) {
        interaction.settled = true;
        interaction.reject(new Error('emulator closed'));
      }
    }
    this.#gateway.terminate();
    await new Promise<void>((resolveClose) => {
      this.#wss.close(() => {
        resolveClose();
      });
    });
    this.#server.closeAllConnections();
    await new Promise<void>((resolveClose) => {
      this.#server.close(() => {
        resolveClose();
      });
    });
  }

  // ---- Ids, lookups, JSON shapes --------------------------------------------------------------

  /** A Discord snowflake: milliseconds since 2015 shifted by 22 bits, strictly increasing. */
  #snowflake(): string {
    const fromClock = (BigInt(Date.now()) - DISCORD_EPOCH) << 22n;
    this.#lastId = fromClock > this.#lastId ? fromClock : this.#lastId + 1n;
    return this.#lastId.toString();
  }

  #guild(guildId: string): GuildState {
    const state = this.#guilds.get(guildId);
    if (state === undefined) throw new Error(`no guild ${guildId}`);
    return state;
  }

  #channel(channelId: string): EmulatedChannel {
    const channel = this.#channels.get(channelId);
    if (channel === undefined) throw new Error(`no channel ${channelId}`);
    return channel;
  }

  #botMember(state: GuildState): Member {
    const member = state.members.get(this.botUser.id);
    if (member === undefined) throw new Error('the bot left the guild');
    return member;
  }

  #memberPermissions(state: GuildState, member: Member): bigint {
    if (member.user.id === state.guild.ownerId) return ALL_PERMISSIONS;
    let permissions = 0n;
    for (const role of state.roles) {
      if (role.id === state.guild.id || member.roles.includes(role.id)) {
        permissions |= role.permissions;
      }
    }
    return (permissions & Permission.Administrator) === 0n ? permissions : ALL_PERMISSIONS;
  }

  #userJson(user: EmulatedUser): Json {
    return {
      id: user.id,
      username: user.username,
      discriminator: user.bot ? '0001' : '0',
      global_name: user.bot ? null : user.username,
      avatar: null,
      ...(user.bot ? { bot: true } : {}),
      public_flags: 0,
      flags: 0,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
      collectibles: null,
      primary_guild: null,
    };
  }

  #memberJson(member: Member, withUser = true): Json {
    return {
      ...(withUser ? { user: this.#userJson(member.user) } : {}),
      nick: null,
      avatar: null,
      banner: null,
      roles: member.roles,
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    };
  }

  #roleJson(role: Role): Json {
    return {
      id: role.id,
      name: role.name,
      description: null,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: role.position,
      permissions: String(role.permissions),
      managed: role.managed,
      mentionable: false,
      flags: 0,
      ...(role.botId === undefined ? {} : { tags: { bot_id: role.botId } }),
    };
  }

  #channelJson(channel: EmulatedChannel): Json {
    const state = this.#guild(channel.guildId);
    const last = this.#messages.findLast((m) => m.channelId === channel.id && !m.deleted);
    return {
      id: channel.id,
      type: 0,
      guild_id: channel.guildId,
      name: channel.name,
      position: [...state.channels.keys()].indexOf(channel.id),
      permission_overwrites: [],
      parent_id: null,
      topic: null,
      nsfw: false,
      last_message_id: last?.id ?? null,
      rate_limit_per_user: 0,
      flags: 0,
    };
  }

  #guildJson(state: GuildState): Json {
    const { guild } = state;
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: state.roles.map((role) => this.#roleJson(role)),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      max_members: 500_000,
      vanity_url_code: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: 'en-US',
      nsfw_level: 0,
    };
  }

  /** GUILD_CREATE as a bot without the presences intent gets it: only its own member. */
  #guildCreatePayload(state: GuildState): Json {
    const botMember = this.#botMember(state);
    return {
      ...this.#guildJson(state),
      joined_at: botMember.joinedAt,
      large: false,
      unavailable: false,
      member_count: state.members.size,
      members: [this.#memberJson(botMember)],
      channels: [...state.channels.values()].map((channel) => this.#channelJson(channel)),
      threads: [],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  /** A webhook as the bot sees it (with token and owner), or as its token's holder sees it. */
  #webhookJson(webhook: EmulatedWebhook, asBot: boolean): Json {
    return {
      id: webhook.id,
      type: 1,
      guild_id: webhook.guildId,
      channel_id: webhook.channelId,
      name: webhook.name,
      avatar: webhook.avatar,
      application_id: this.applicationId,
      token: webhook.token,
      url: `${this.url}/webhooks/${webhook.id}/${webhook.token}`,
      ...(asBot ? { user: this.#userJson(this.botUser) } : {}),
    };
  }

  #mentions(content: string): EmulatedUser[] {
    const ids = [...content.matchAll(/<@!?(\d{17,20})>/g)].map((match) => match[1]);
    return [...new Set(ids)]
      .map((id) => (id === undefined ? undefined : this.#users.get(id)))
      .filter((user): user is EmulatedUser => user !== undefined);
  }

  #messageJson(message: EmulatedMessage): Json {
    const interaction = this.#interactions.get(message.interactionId ?? '');
    return {
      id: message.id,
      type: message.interactionId === null ? 0 : 20,
      channel_id: message.channelId,
      author: this.#userJson(message.author),
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
      tts: false,
      mention_everyone: false,
      mentions: this.#mentions(message.content).map((user) => this.#userJson(user)),
      mention_roles: [],
      attachments: message.attachments.map((file, index) => ({
        id: `${message.id}${index}`,
        filename: file.filename,
        size: file.size,
        url: `${this.url}/attachments/${message.id}/${file.filename}`,
        proxy_url: `${this.url}/attachments/${message.id}/${file.filename}`,
      })),
      embeds: message.embeds,
      components: message.components,
      pinned: false,
      flags: message.flags,
      ...(message.webhookId === null ? {} : { webhook_id: message.webhookId }),
      ...(message.source === 'interaction' ? { application_id: this.applicationId } : {}),
      ...(interaction === undefined
        ? {}
        : {
            interaction_metadata: {
              id: interaction.id,
              type: 2,
              name: interaction.commandName,
              user: this.#userJson(interaction.user),
              authorizing_integration_owners: { '0': message.guildId },
            },
          }),
    };
  }

  // ---- Messages -------------------------------------------------------------------------------

  #storeMessage(input: {
    channel: EmulatedChannel;
    source: MessageSource;
    author: EmulatedUser;
    content: string;
    webhookId: string | null;
    avatarUrl: string | null;
    interactionId: string | null;
    flags: number;
    body: Json;
    files: { filename: string; size: number }[];
  }): EmulatedMessage {
    const { body } = input;
    const message: EmulatedMessage = {
      id: this.#snowflake(),
      channelId: input.channel.id,
      guildId: input.channel.guildId,
      source: input.source,
      author: input.author,
      webhookId: input.webhookId,
      avatarUrl: input.avatarUrl,
      interactionId: input.interactionId,
      content: input.content,
      embeds: Array.isArray(body.embeds) ? (body.embeds as unknown[]) : [],
      components: Array.isArray(body.components) ? (body.components as unknown[]) : [],
      attachments: input.files,
      flags: input.flags,
      createdAt: Date.now(),
      editedAt: null,
      edits: 0,
      deleted: false,
    };
    this.#messages.push(message);
    if ((message.flags & MessageFlag.Ephemeral) === 0) {
      this.#dispatchMessage('MESSAGE_CREATE', message);
    }
    this.#notify();
    return message;
  }

  #editMessage(message: EmulatedMessage, body: Json, files: ApiRequest['files']): void {
    const { content, embeds } = this.#checkMessageBody(body, files, false);
    if (content !== undefined) message.content = content;
    if (embeds !== undefined) message.embeds = embeds;
    if (Array.isArray(body.components)) message.components = body.components as unknown[];
    if (files.length > 0) message.attachments = files;
    message.flags &= ~MessageFlag.Loading;
    message.editedAt = Date.now();
    message.edits++;
    if ((message.flags & MessageFlag.Ephemeral) === 0) {
      this.#dispatchMessage('MESSAGE_UPDATE', message);
    }
    this.#notify();
  }

  #deleteMessage(message: EmulatedMessage): void {
    message.deleted = true;
    if ((message.flags & MessageFlag.Ephemeral) === 0) {
      this.#gateway.dispatch(
        'MESSAGE_DELETE',
        { id: message.id, channel_id: message.channelId, guild_id: message.guildId },
        Intent.GuildMessages,
      );
    }
  }

  #dispatchMessage(event: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', message: EmulatedMessage): void {
    if (this.#dmChannels.has(message.channelId)) {
      // Direct messages reach only sessions with the DIRECT_MESSAGES intent, without a guild.
      this.#gateway.dispatch(event, this.#messageJson(message), Intent.DirectMessages);
      return;
    }
    const state = this.#guild(message.guildId);
    const member = state.members.get(message.author.id);
    const full: Json = {
      ...this.#messageJson(message),
      guild_id: message.guildId,
      ...(member === undefined || message.webhookId !== null
        ? {}
        : { member: this.#memberJson(member, false) }),
    };
    // Without MESSAGE_CONTENT, Discord blanks what others wrote unless it mentions the bot.
    const readable =
      message.author.id === this.botUser.id ||
      this.#mentions(message.content).some((user) => user.id === this.botUser.id);
    const blank = { ...full, content: '', embeds: [], attachments: [], components: [] };
    for (const session of this.#gateway.liveSessions()) {
      if ((session.intents & Intent.GuildMessages) === 0) continue;
      const visible = readable || (session.intents & Intent.MessageContent) !== 0;
      this.#gateway.send(session, event, visible ? full : blank);
    }
  }

  /** Checks a message body as Discord does; returns its content and embeds when present. */
  #checkMessageBody(
    body: Json,
    files: ApiRequest['files'],
    creating: boolean,
  ): { content: string | undefined; embeds: unknown[] | undefined } {
    const content = typeof body.content === 'string' ? body.content : undefined;
    if (content !== undefined && content.length > 2000) {
      throw invalidForm('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
    }
    const embeds = Array.isArray(body.embeds) ? (body.embeds as unknown[]) : undefined;
    if (embeds !== undefined && embeds.length > 10) {
      throw invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
    }
    const components = Array.isArray(body.components) ? body.components : [];
    if (
      creating &&
      (content ?? '') === '' &&
      (embeds ?? []).length === 0 &&
      components.length === 0 &&
      files.length === 0 &&
      !isObject(body.poll)
    ) {
      throw new ApiError(400, 50006, 'Cannot send an empty message');
    }
    return { content, embeds };
  }

  #checkWebhookName(field: string, name: unknown): string {
    if (typeof name !== 'string' || name.length < 1 || name.length > 80) {
      throw invalidForm(field, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 80 in length.');
    }
    for (const banned of ['discord', 'clyde']) {
      if (name.toLowerCase().includes(banned)) {
        throw invalidForm(
          field,
          'USERNAME_INVALID_CONTAINS',
          `Username cannot contain "${banned}"`,
        );
      }
    }
    return name;
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  // ---- Slash command options ------------------------------------------------------------------

  #buildOptions(
    definitions: readonly CommandOptionDefinition[],
    path: readonly string[],
    given: Record<string, SlashValue>,
    state: GuildState,
    resolved: Resolved,
  ): Json[] {
    const [head, ...rest] = path;
    if (head !== undefined) {
      const sub = definitions.find(
        (d) =>
          d.name === head &&
          (d.type === OptionType.SubCommand || d.type === OptionType.SubCommandGroup),
      );
      if (sub === undefined) throw new Error(`no subcommand ${head}`);
      return [
        {
          type: sub.type,
          name: sub.name,
          options: this.#buildOptions(sub.options ?? [], rest, given, state, resolved),
        },
      ];
    }
    if (definitions.some((d) => d.type === OptionType.SubCommand)) {
      throw new Error('this command needs a subcommand: name it as "command sub"');
    }
    for (const definition of definitions) {
      if (definition.required === true && !(definition.name in given)) {
        throw new Error(`option ${definition.name} is required`);
      }
    }
    return Object.entries(given).map(([name, value]) => {
      const definition = definitions.find((d) => d.name === name);
      if (definition === undefined) throw new Error(`the command has no option ${name}`);
      return {
        name,
        type: definition.type,
        value: this.#optionValue(definition, value, state, resolved),
      };
    });
  }

  #optionValue(
    definition: CommandOptionDefinition,
    value: SlashValue,
    state: GuildState,
    resolved: Resolved,
  ): SlashValue {
    const shown = typeof value === 'object' ? value.filename : String(value);
    const wrongType = () => new Error(`option ${definition.name} cannot take ${shown}`);
    if (typeof value === 'object') {
      if (definition.type !== OptionType.Attachment) throw wrongType();
      const id = this.#snowflake();
      this.#uploads.set(id, value);
      const url = `${this.cdnUrl}/attachments/${id}/${encodeURIComponent(value.filename)}`;
      resolved.attachments[id] = {
        id,
        filename: value.filename,
        size: value.bytes.length,
        url,
        proxy_url: url,
        content_type: 'application/octet-stream',
      };
      return id;
    }
    switch (definition.type) {
      case OptionType.String:
        return String(value);
      case OptionType.Integer:
        if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType();
        return value;
      case OptionType.Number:
        if (typeof value !== 'number') throw wrongType();
        return value;
      case OptionType.Boolean:
        if (typeof value !== 'boolean') throw wrongType();
        return value;
      case OptionType.User:
      case OptionType.Channel:
      case OptionType.Role:
      case OptionType.Mentionable: {
        const id = String(value);
        const member = state.members.get(id);
        const channel = state.channels.get(id);
        const role = state.roles.find((r) => r.id === id);
        if (member !== undefined && definition.type !== OptionType.Channel) {
          resolved.users[id] = this.#userJson(member.user);
          resolved.members[id] = {
            ...this.#memberJson(member, false),
            permissions: String(this.#memberPermissions(state, member)),
          };
        } else if (channel !== undefined && definition.type === OptionType.Channel) {
          const {
            id: channelId,
            type,
            name,
            parent_id,
            permission_overwrites,
            flags,
          } = this.#channelJson(channel);
          resolved.channels[id] = {
            id: channelId,
            type,
            name,
            parent_id,
            permission_overwrites,
            flags,
            permissions: String(this.#botPermissions),
          };
        } else if (
          role !== undefined &&
          (definition.type === OptionType.Role || definition.type === OptionType.Mentionable)
        ) {
          resolved.roles[id] = this.#roleJson(role);
        } else {
          throw wrongType();
        }
        return id;
      }
      default:
        throw wrongType();
    }
  }

  // ---- REST -----------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const prefix = '/api/v10/';
    const raw = await readBody(req);
    const download = /^\/attachments\/(\d+)\/[^/]+$/.exec(url.pathname);
    if (method === 'GET' && download !== null) {
      const upload = this.#uploads.get(download[1] ?? '');
      res.writeHead(upload === undefined ? 404 : 200, {
        'content-type': 'application/octet-stream',
      });
      res.end(upload === undefined ? '' : Buffer.from(upload.bytes));
      return;
    }
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length - 1) : '';
    const segments = path.split('/').filter((s) => s !== '');
    let parsed: { json: unknown; files: ApiRequest['files'] };
    try {
      parsed = parseBody(req.headers['content-type'] ?? '', raw);
    } catch {
      this.#respond(
        res,
        { method, path: url.pathname, query: url.search, body: raw.toString() },
        {
          status: 400,
          body: { message: '400: Bad Request', code: 50109 },
        },
      );
      return;
    }
    const request: ApiRequest = {
      method,
      segments,
      query: url.searchParams,
      json: parsed.json,
      body: isObject(parsed.json) ? parsed.json : {},
      files: parsed.files,
      authorized: req.headers.authorization === `Bot ${this.token}`,
    };
    const call = {
      method,
      path: path === '' ? url.pathname : path,
      query: url.search,
      body: parsed.json,
    };
    const now = Date.now();
    const limiter = this.#limiter(request);
    for (const window of [limiter.hidden, limiter.advertised]) {
      if (window?.full(now) === true) {
        this.#rateLimited++;
        const after = window.resetAfterMs(now);
        this.#respond(
          res,
          call,
          {
            status: 429,
            body: {
              message: 'You are being rate limited.',
              retry_after: Number(seconds(after)),
              global: false,
            },
          },
          {
            ...rateHeaders(window, limiter.bucket, now),
            'Retry-After': String(Math.ceil(after / 1000)),
            'X-RateLimit-Scope': 'user',
          },
        );
        return;
      }
    }
    limiter.hidden?.take(now);
    limiter.advertised.take(now);
    const headers = rateHeaders(limiter.advertised, limiter.bucket, now);
    const match = path === '' ? undefined : this.#match(method, segments);
    if (match === undefined) {
      this.#respond(
        res,
        { ...call, unknownRoute: true },
        {
          status: 404,
          body: { message: '404: Not Found', code: 0 },
        },
        headers,
      );
      return;
    }
    let reply: Reply;
    try {
      if (match.route.auth && !request.authorized) {
        throw new ApiError(401, 0, '401: Unauthorized');
      }
      reply = match.route.handle(request, match.params);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        // An emulator bug: answer 500 and say why rather than crash the test run.
        console.error('discord emulator:', error);
        reply = { status: 500, body: { message: '500: Internal Server Error', code: 0 } };
        this.#respond(res, call, reply, headers);
        return;
      }
      reply = {
        status: error.status,
        body: {
          message: error.message,
          code: error.code,
          ...(error.errors === undefined ? {} : { errors: error.errors }),
        },
      };
    }
    this.#respond(res, call, reply, headers);
  }

  #respond(
    res: ServerResponse,
    call: { method: string; path: string; query: string; body: unknown; unknownRoute?: boolean },
    reply: Reply,
    headers: Record<string, string> = {},
  ): void {
    this.restCalls.push({
      method: call.method,
      path: call.path,
      query: call.query,
      body: call.body,
      status: reply.status,
      unknownRoute: call.unknownRoute ?? false,
      at: Date.now(),
    });
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    res
      .writeHead(reply.status, { ...headers, 'Content-Type': 'application/json' })
      .end(JSON.stringify(reply.body));
  }

  /** Which bucket a request counts against, as Discord groups routes. */
  #limiter(request: ApiRequest): Limiter {
    const { method, segments } = request;
    const [first, id, third] = segments;
    // Ids become :id and webhook tokens :token, so one route shares one bucket name.
    const template = segments
      .map((s, i) =>
        /^\d{17,20}$/.test(s) ? ':id' : segments[i - 2] === 'webhooks' ? ':token' : s,
      )
      .join('/');
    const bucket = bucketHash(`${method} /${template}`);
    const major =
      (first === 'channels' || first === 'guilds' || first === 'webhooks') && id !== undefined
        ? id
        : 'global';
    const windowFor = (key: string, rule: RateLimit) => {
      let window = this.#windows.get(key);
      if (window === undefined) {
        window = new Window(rule);
        this.#windows.set(key, window);
      }
      return window;
    };
    if (method === 'POST' && first === 'webhooks' && id !== undefined && segments.length === 3) {
      const webhook = this.#webhooks.get(id);
      if (webhook !== undefined && webhook.token === third) {
        return {
          bucket,
          hidden: windowFor(`webhook:${id}`, this.#limits.webhookExecute),
          advertised: windowFor(
            `webhook-channel:${webhook.channelId}`,
            this.#limits.webhookChannel,
          ),
        };
      }
    }
    if (method === 'POST' && first === 'channels' && template === 'channels/:id/messages') {
      return { bucket, advertised: windowFor(`messages:${major}`, this.#limits.channelMessages) };
    }
    return { bucket, advertised: windowFor(`${method} ${template}:${major}`, this.#limits.other) };
  }

  #match(
    method: string,
    segments: readonly string[],
  ): { route: Route; params: Params } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method || route.pattern.length !== segments.length) continue;
      const params = new Map<string, string>();
      const fits = route.pattern.every((part, i) => {
        const segment = segments[i] ?? '';
        if (part.startsWith(':')) {
          params.set(part.slice(1), decodeURIComponent(segment));
          return true;
        }
        return part === segment;
      });
      if (fits) return { route, params };
    }
    return undefined;
  }

  #buildRoutes(): Route[] {
    const route = (spec: string, handle: Route['handle'], auth = true): Route => {
      const [method = 'GET', path = '/'] = spec.split(' ');
      return { method, pattern: path.split('/').filter((s) => s !== ''), auth, handle };
    };
    return [
      route('GET /gateway', () => ok({ url: this.gatewayUrl }), false),
      route('GET /gateway/bot', () =>
        ok({
          url: this.gatewayUrl,
          shards: 1,
          session_start_limit: {
            total: 1000,
            remaining: 1000 - this.gateway.identifies,
            reset_after: 86_400_000,
            max_concurrency: 1,
          },
        }),
      ),
      route('GET /users/@me', () => ok(this.#userJson(this.botUser))),
      route('POST /users/@me/channels', (r) => ok(this.#openDm(r))),
      route('GET /users/:user', (_r, p) => {
        const user = this.#users.get(param(p, 'user'));
        if (user === undefined) throw unknown('User', 10013);
        return ok(this.#userJson(user));
      }),
      route('GET /applications/@me', () => ok(this.#applicationJson())),
      route('GET /oauth2/applications/@me', () => ok(this.#applicationJson())),
      route('GET /applications/:app/commands', (_r, p) => ok(this.#listCommands(p, null))),
      route('PUT /applications/:app/commands', (r, p) => ok(this.#overwriteCommands(r, p, null))),
      route('POST /applications/:app/commands', (r, p) => this.#createCommand(r, p, null)),
      route('GET /applications/:app/guilds/:guild/commands', (_r, p) =>
        ok(this.#listCommands(p, this.#apiGuild(p).guild.id)),
      ),
      route('PUT /applications/:app/guilds/:guild/commands', (r, p) =>
        ok(this.#overwriteCommands(r, p, this.#apiGuild(p).guild.id)),
      ),
      route('POST /applications/:app/guilds/:guild/commands', (r, p) =>
        this.#createCommand(r, p, this.#apiGuild(p).guild.id),
      ),
      route(
        'POST /interactions/:id/:token/callback',
        (r, p) => this.#interactionCallback(r, p),
        false,
      ),
      route(
        'GET /webhooks/:id/:token/messages/:message',
        (_r, p) => ok(this.#messageJson(this.#webhookMessage(p))),
        false,
      ),
      route(
        'PATCH /webhooks/:id/:token/messages/:message',
        (r, p) => {
          const message = this.#webhookMessage(p);
          this.#editMessage(message, r.body, r.files);
          this.#settleAfterEdit(p, message);
          return ok(this.#messageJson(message));
        },
        false,
      ),
      route(
        'DELETE /webhooks/:id/:token/messages/:message',
        (_r, p) => {
          this.#deleteMessage(this.#webhookMessage(p));
          return noContent;
        },
        false,
      ),
      route('POST /webhooks/:id/:token', (r, p) => this.#executeWebhook(r, p), false),
      route(
        'GET /webhooks/:id/:token',
        (_r, p) => {
          return ok(this.#webhookJson(this.#tokenWebhook(p), false));
        },
        false,
      ),
      route(
        'DELETE /webhooks/:id/:token',
        (_r, p) => {
          this.#webhooks.delete(this.#tokenWebhook(p).id);
          return noContent;
        },
        false,
      ),
      route('GET /webhooks/:id', (_r, p) => ok(this.#webhookJson(this.#apiWebhook(p), true))),
      route('DELETE /webhooks/:id', (_r, p) => {
        this.#webhooks.delete(this.#apiWebhook(p).id);
        return noContent;
      }),
      route('GET /channels/:channel', (_r, p) => {
        const dm = this.#dmChannels.get(param(p, 'channel'));
        return ok(dm === undefined ? this.#channelJson(this.#apiChannel(p)) : this.#dmJson(dm));
      }),
      route('POST /channels/:channel/typing', () => noContent),
      route('POST /channels/:channel/messages', (r, p) => {
        const dm = this.#dmChannels.get(param(p, 'channel'));
        if (dm !== undefined) return ok(this.#messageJson(this.#sendDm(dm, r)));
        const channel = this.#apiChannel(p);
        const { content } = this.#checkMessageBody(r.body, r.files, true);
        const message = this.#storeMessage({
          channel,
          source: 'bot',
          author: this.botUser,
          content: content ?? '',
          webhookId: null,
          avatarUrl: null,
          interactionId: null,
          flags: typeof r.body.flags === 'number' ? r.body.flags & ~MessageFlag.Ephemeral : 0,
          body: r.body,
          files: r.files,
        });
        return ok(this.#messageJson(message));
      }),
      route('GET /channels/:channel/messages', (r, p) => ok(this.#listMessages(r, p))),
      route('GET /channels/:channel/messages/:message', (_r, p) =>
        ok(this.#messageJson(this.#channelMessage(p))),
      ),
      route('PATCH /channels/:channel/messages/:message', (r, p) => {
        const message = this.#channelMessage(p);
        if (message.author.id !== this.botUser.id || message.webhookId !== null) {
          throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
        }
        this.#editMessage(message, r.body, r.files);
        return ok(this.#messageJson(message));
      }),
      route('DELETE /channels/:channel/messages/:message', (_r, p) => {
        this.#deleteMessage(this.#channelMessage(p));
        return noContent;
      }),
      route('GET /channels/:channel/webhooks', (_r, p) =>
        ok(this.webhooks(this.#apiChannel(p).id).map((w) => this.#webhookJson(w, true))),
      ),
      route('POST /channels/:channel/webhooks', (r, p) => this.#createWebhook(r, p)),
      route('GET /guilds/:guild', (_r, p) => ok(this.#guildJson(this.#apiGuild(p)))),
      route('GET /guilds/:guild/channels', (_r, p) =>
        ok([...this.#apiGuild(p).channels.values()].map((c) => this.#channelJson(c))),
      ),
      route('GET /guilds/:guild/roles', (_r, p) =>
        ok(this.#apiGuild(p).roles.map((role) => this.#roleJson(role))),
      ),
      route('GET /guilds/:guild/members/:user', (_r, p) => {
        const member = this.#apiGuild(p).members.get(param(p, 'user'));
        if (member === undefined) throw unknown('Member', 10007);
        return ok(this.#memberJson(member));
      }),
      route('GET /guilds/:guild/webhooks', (_r, p) => {
        const guildId = this.#apiGuild(p).guild.id;
        return ok(
          [...this.#webhooks.values()]
            .filter((w) => w.guildId === guildId)
            .map((w) => this.#webhookJson(w, true)),
        );
      }),
    ];
  }

  // ---- Direct messages ------------------------------------------------------------------------

  /** `POST /users/@me/channels`: the bot's one DM channel with a user, made on first use. */
  #openDm(request: ApiRequest): Json {
    const recipient = request.body.recipient_id;
    const user = typeof recipient === 'string' ? this.#users.get(recipient) : undefined;
    if (user === undefined || user.bot) {
      throw invalidForm('recipient_id', 'USER_INVALID', 'Invalid recipient');
    }
    let channelId = this.#dmOfUser.get(user.id);
    if (channelId === undefined) {
      channelId = this.#snowflake();
      this.#dmOfUser.set(user.id, channelId);
      this.#dmChannels.set(channelId, { id: channelId, user });
    }
    const dm = this.#dmChannels.get(channelId);
    if (dm === undefined) throw new Error('DM channel vanished');
    return this.#dmJson(dm);
  }

  #dmJson(dm: DmChannel): Json {
    const last = this.#messages.findLast((m) => m.channelId === dm.id && !m.deleted);
    return {
      id: dm.id,
      type: 1,
      last_message_id: last?.id ?? null,
      flags: 0,
      recipients: [this.#userJson(dm.user)],
    };
  }

  /** The bot writes in a DM channel; refused (50007) when the user does not accept DMs. */
  #sendDm(dm: DmChannel, request: ApiRequest): EmulatedMessage {
    if (this.#closedDms.has(dm.user.id)) {
      throw new ApiError(403, 50007, 'Cannot send messages to this user');
    }
    const { content } = this.#checkMessageBody(request.body, request.files, true);
    return this.#storeMessage({
      channel: { id: dm.id, guildId: '', name: '' },
      source: 'bot',
      author: this.botUser,
      content: content ?? '',
      webhookId: null,
      avatarUrl: null,
      interactionId: null,
      flags: 0,
      body: request.body,
      files: request.files,
    });
  }

  /**
   * `GET /channels/:id/messages`: users' messages included, newest first as Discord answers;
   * `after`, `before` (message ids) and `limit` (1 to 100, default 50).
   */
  #listMessages(request: ApiRequest, p: Params): Json[] {
    const channelId = param(p, 'channel');
    if (!this.#dmChannels.has(channelId)) this.#apiChannel(p);
    const limit = Number(request.query.get('limit') ?? '50');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw invalidForm('limit', 'NUMBER_TYPE_MAX', 'int value should be between 1 and 100.');
    }
    const after = request.query.get('after');
    const before = request.query.get('before');
    let found = this.#messages.filter(
      (m) => m.channelId === channelId && !m.deleted && (m.flags & MessageFlag.Ephemeral) === 0,
    );
    if (before !== null) found = found.filter((m) => BigInt(m.id) < BigInt(before));
    // After an id: the oldest ones following it; otherwise the newest.
    found =
      after !== null
        ? found.filter((m) => BigInt(m.id) > BigInt(after)).slice(0, limit)
        : found.slice(-limit);
    return found.reverse().map((m) => ({
      ...this.#messageJson(m),
      ...(m.guildId === '' ? {} : { guild_id: m.guildId }),
    }));
  }

  #applicationJson(): Json {
    return {
      id: this.applicationId,
      name: this.botUser.username,
      icon: null,
      description: '',
      bot_public: false,
      bot_require_code_grant: false,
      verify_key: randomBytes(32).toString('hex'),
      flags: 0,
      team: null,
      owner: this.#userJson({ id: '1', username: 'owner', bot: false }),
      bot: this.#userJson(this.botUser),
    };
  }

  #apiGuild(p: Params): GuildState {
    const state = this.#guilds.get(param(p, 'guild'));
    if (state === undefined) throw unknown('Guild', 10004);
    return state;
  }

  #apiChannel(p: Params): EmulatedChannel {
    const channel = this.#channels.get(param(p, 'channel'));
    if (channel === undefined) throw unknown('Channel', 10003);
    return channel;
  }

  #channelMessage(p: Params): EmulatedMessage {
    const channel = this.#apiChannel(p);
    const id = param(p, 'message');
    const message = this.#messages.find((m) => m.id === id && m.channelId === channel.id);
    if (message === undefined || message.deleted) throw unknown('Message', 10008);
    return message;
  }

  #apiWebhook(p: Params): EmulatedWebhook {
    const webhook = this.#webhooks.get(param(p, 'id'));
    if (webhook === undefined) throw unknown('Webhook', 10015);
    return webhook;
  }

  #tokenWebhook(p: Params): EmulatedWebhook {
    const webhook = this.#apiWebhook(p);
    if (webhook.token !== param(p, 'token')) {
      throw new ApiError(401, 50027, 'Invalid Webhook Token');
    }
    return webhook;
  }

  /** The interaction behind `/webhooks/:application/:token`, if the id is the application's. */
  #interactionByToken(p: Params): InteractionState | undefined {
    if (param(p, 'id') !== this.applicationId) return undefined;
    const token = param(p, 'token');
    for (const interaction of this.#interactions.values()) {
      if (interaction.token === token) return interaction;
    }
    throw unknown('Webhook', 10015);
  }

  #webhookMessage(p: Params): EmulatedMessage {
    const which = param(p, 'message');
    const interaction = this.#interactionByToken(p);
    if (interaction !== undefined) {
      const message =
        which === '@original'
          ? interaction.original
          : interaction.reply?.followUps.find((m) => m.id === which);
      if (message === undefined || message.deleted) throw unknown('Message', 10008);
      return message;
    }
    const webhook = this.#tokenWebhook(p);
    const message = this.#messages.find((m) => m.id === which && m.webhookId === webhook.id);
    if (message === undefined || message.deleted) throw unknown('Message', 10008);
    return message;
  }

  // ---- Commands -------------------------------------------------------------------------------

  #checkApplication(p: Params): void {
    if (param(p, 'app') !== this.applicationId) throw new ApiError(403, 50001, 'Missing Access');
  }

  #listCommands(p: Params, guildId: string | null): Json[] {
    this.#checkApplication(p);
    return this.#commands.filter((c) => c.guildId === guildId).map((c) => this.#commandJson(c));
  }

  #commandJson(command: RegisteredCommand & { readonly raw: Json }): Json {
    return {
      ...command.raw,
      id: command.id,
      application_id: this.applicationId,
      ...(command.guildId === null ? {} : { guild_id: command.guildId }),
      name: command.name,
      description: command.description,
      type: command.type,
      options: command.options,
      default_member_permissions: command.defaultMemberPermissions,
      nsfw: command.raw.nsfw ?? false,
      version: this.#snowflake(),
    };
  }

  #parseCommand(raw: unknown, guildId: string | null): RegisteredCommand & { readonly raw: Json } {
    if (
      !isObject(raw) ||
      typeof raw.name !== 'string' ||
      !/^[-_\p{L}\p{N}]{1,32}$/u.test(raw.name)
    ) {
      throw invalidForm('name', 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    const type = typeof raw.type === 'number' ? raw.type : 1;
    const description = typeof raw.description === 'string' ? raw.description : '';
    if (type === 1 && (description.length < 1 || description.length > 100)) {
      throw invalidForm(
        'description',
        'BASE_TYPE_BAD_LENGTH',
        'Must be between 1 and 100 in length.',
      );
    }
    const name = raw.name;
    const existing = this.#commands.find(
      (c) => c.name === name && c.type === type && c.guildId === guildId,
    );
    const permissions = raw.default_member_permissions;
    return {
      id: existing?.id ?? this.#snowflake(),
      guildId,
      name,
      description,
      type,
      options: Array.isArray(raw.options) ? (raw.options as CommandOptionDefinition[]) : [],
      defaultMemberPermissions:
        typeof permissions === 'string' || typeof permissions === 'number'
          ? String(permissions)
          : null,
      raw,
    };
  }

  #overwriteCommands(request: ApiRequest, p: Params, guildId: string | null): Json[] {
    this.#checkApplication(p);
    const list = request.json;
    if (!Array.isArray(list)) throw invalidForm('_root', 'ARRAY_TYPE_CONVERT', 'Must be an array');
    const commands = list.map((raw) => this.#parseCommand(raw, guildId));
    const kept = this.#commands.filter((c) => c.guildId !== guildId);
    this.#commands.splice(0, this.#commands.length, ...kept, ...commands);
    return commands.map((c) => this.#commandJson(c));
  }

  #createCommand(request: ApiRequest, p: Params, guildId: string | null): Reply {
    this.#checkApplication(p);
    const command = this.#parseCommand(request.json, guildId);
    const index = this.#commands.findIndex((c) => c.id === command.id);
    if (index === -1) this.#commands.push(command);
    else this.#commands[index] = command;
    return { status: index === -1 ? 201 : 200, body: this.#commandJson(command) };
  }

  // ---- Interactions ---------------------------------------------------------------------------

  #interactionCallback(request: ApiRequest, p: Params): Reply {
    const interaction = this.#interactions.get(param(p, 'id'));
    if (
      interaction === undefined ||
      interaction.token !== param(p, 'token') ||
      interaction.expired
    ) {
      throw new ApiError(404, 10062, 'Unknown interaction');
    }
    if (interaction.reply !== undefined) {
      throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
    }
    const { type } = request.body;
    const data = isObject(request.body.data) ? request.body.data : {};
    const flags = typeof data.flags === 'number' ? data.flags : 0;
    const ephemeral = (flags & MessageFlag.Ephemeral) !== 0;
    let reply: InteractionReply;
    if (type === 4 || type === 5) {
      const deferred = type === 5;
      const content = deferred
        ? ''
        : (this.#checkMessageBody(data, request.files, true).content ?? '');
      interaction.original = this.#storeMessage({
        channel: interaction.channel,
        source: 'interaction',
        author: this.botUser,
        content,
        webhookId: this.applicationId,
        avatarUrl: null,
        interactionId: interaction.id,
        flags: deferred ? flags | MessageFlag.Loading : flags,
        body: deferred ? {} : data,
        files: deferred ? [] : request.files,
      });
      reply = {
        interactionId: interaction.id,
        callbackType: type,
        deferred,
        content,
        ephemeral,
        flags,
        embeds: interaction.original.embeds,
        components: interaction.original.components,
        modal: null,
        followUps: [],
      };
    } else if (type === 9) {
      reply = {
        interactionId: interaction.id,
        callbackType: 9,
        deferred: false,
        content: '',
        ephemeral: false,
        flags: 0,
        embeds: [],
        components: [],
        modal: data,
        followUps: [],
      };
    } else {
      throw invalidForm('type', 'BASE_TYPE_CHOICES', `Value must be one of (4, 5, 9).`);
    }
    interaction.reply = reply;
    if (!reply.deferred) this.#settle(interaction);
    if (request.query.get('with_response') !== 'true') return noContent;
    const original = interaction.original;
    return ok({
      interaction: {
        id: interaction.id,
        type: 2,
        ...(original === undefined
          ? {}
          : {
              response_message_id: original.id,
              response_message_loading: reply.deferred,
              response_message_ephemeral: reply.ephemeral,
            }),
      },
      resource: {
        type: reply.callbackType,
        ...(original === undefined ? {} : { message: this.#messageJson(original) }),
      },
    });
  }

  #settle(interaction: InteractionState): void {
    if (interaction.settled || interaction.reply === undefined) return;
    interaction.settled = true;
    for (const timer of interaction.timers) clearTimeout(timer);
    interaction.resolve(interaction.reply);
  }

  /** A deferred answer is done once its original is edited or a follow-up arrives. */
  #settleAfterEdit(p: Params, message: EmulatedMessage): void {
    const interaction = this.#interactionByToken(p);
    const reply = interaction?.reply;
    if (interaction === undefined || reply === undefined || message !== interaction.original)
      return;
    reply.content = message.content;
    reply.embeds = message.embeds;
    reply.components = message.components;
    reply.files = message.attachments;
    this.#settle(interaction);
  }

  // ---- Webhooks -------------------------------------------------------------------------------

  #createWebhook(request: ApiRequest, p: Params): Reply {
    const channel = this.#apiChannel(p);
    const name = this.#checkWebhookName('name', request.body.name);
    if (this.webhooks(channel.id).length >= MAX_WEBHOOKS_PER_CHANNEL) {
      throw new ApiError(400, 30007, 'Maximum number of webhooks reached (10)');
    }
    const webhook: EmulatedWebhook = {
      id: this.#snowflake(),
      token: randomBytes(51).toString('base64url'),
      channelId: channel.id,
      guildId: channel.guildId,
      name,
      // Discord stores the image and answers with its hash.
      avatar: typeof request.body.avatar === 'string' ? randomBytes(16).toString('hex') : null,
    };
    this.#webhooks.set(webhook.id, webhook);
    this.#gateway.dispatch(
      'WEBHOOKS_UPDATE',
      { guild_id: channel.guildId, channel_id: channel.id },
      Intent.GuildWebhooks,
    );
    return ok(this.#webhookJson(webhook, true));
  }

  #executeWebhook(request: ApiRequest, p: Params): Reply {
    const { body, files } = request;
    const interaction = this.#interactionByToken(p);
    if (interaction !== undefined) {
      const reply = interaction.reply;
      if (reply === undefined) throw unknown('Webhook', 10015);
      const { content } = this.#checkMessageBody(body, files, true);
      const flags = typeof body.flags === 'number' ? body.flags : 0;
      const message = this.#storeMessage({
        channel: interaction.channel,
        source: 'interaction',
        author: this.botUser,
        content: content ?? '',
        webhookId: this.applicationId,
        avatarUrl: null,
        interactionId: interaction.id,
        flags,
        body,
        files,
      });
      reply.followUps.push(message);
      if (reply.deferred && !interaction.settled) {
        reply.content = message.content;
        reply.embeds = message.embeds;
        reply.ephemeral = (flags & MessageFlag.Ephemeral) !== 0;
        this.#settle(interaction);
      }
      return ok(this.#messageJson(message));
    }
    const webhook = this.#tokenWebhook(p);
    const { content } = this.#checkMessageBody(body, files, true);
    const username =
      body.username === undefined
        ? webhook.name
        : this.#checkWebhookName('username', body.username);
    const message = this.#storeMessage({
      channel: this.#channel(webhook.channelId),
      source: 'webhook',
      // Discord shows webhook messages under a webhook "user" whose id is the webhook's.
      author: { id: webhook.id, username, bot: true },
      content: content ?? '',
      webhookId: webhook.id,
      avatarUrl: typeof body.avatar_url === 'string' ? body.avatar_url : null,
      interactionId: null,
      flags: typeof body.flags === 'number' ? body.flags & ~MessageFlag.Ephemeral : 0,
      body,
      files,
    });
    return request.query.get('wait') === 'true' ? ok(this.#messageJson(message)) : noContent;
  }

  /** The READY payload of a new gateway session, and a GUILD_CREATE for every guild after it. */
  #readyPayload(sessionId: string): { ready: Json; guilds: Json[] } {
    const guilds = [...this.#guilds.values()];
    return {
      ready: {
        v: 10,
        user: { ...this.#userJson(this.botUser), verified: true, mfa_enabled: false },
        guilds: guilds.map((state) => ({ id: state.guild.id, unavailable: true })),
        session_id: sessionId,
        session_type: 'normal',
        resume_gateway_url: this.gatewayUrl,
        shard: [0, 1],
        application: { id: this.applicationId, flags: 0 },
        private_channels: [],
        relationships: [],
        presences: [],
        guild_join_requests: [],
        user_settings: {},
        geo_ordered_rtc_regions: [],
        _trace: ['emulator'],
      },
      guilds: guilds.map((state) => this.#guildCreatePayload(state)),
    };
  }
}

/** Starts an emulator on a free loopback port. */
export async function startDiscordEmulator(
  options: DiscordEmulatorOptions = {},
): Promise<DiscordEmulator> {
  const emulator = new DiscordEmulator(options);
  await emulator.start();
  return emulator;
}
