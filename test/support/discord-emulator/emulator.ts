/**
 * The emulated Discord, composed: the world, the gateway, the REST routes behind one router, and
 * the helpers tests use to build the world, play its users and read what the bot did.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { WebSocketServer } from 'ws';
import { applicationCommandRoutes } from './application-command-routes.js';
import { channelRoutes } from './channel-routes.js';
import { Gateway } from './gateway.js';
import { guildRoutes } from './guild-routes.js';
import { abandonInteractions, interactionRoutes } from './interaction-routes.js';
import { MessageStore } from './message-store.js';
import { DEFAULT_BOT_PERMISSIONS, DEFAULT_LIMITS, Intent, MessageFlag } from './protocol.js';
import { RestRouter } from './rest-router.js';
import type { RouteDeps } from './route.js';
import { runSlashCommand } from './slash-command.js';
import type { Endpoints } from './state.js';
import { userRoutes } from './user-routes.js';
import { webhookRoutes } from './webhook-routes.js';
import { WireJson } from './wire-json.js';
import { World } from './world.js';
import type {
  DiscordEmulatorOptions,
  EmulatedChannel,
  EmulatedGuild,
  EmulatedMessage,
  EmulatedUser,
  EmulatedWebhook,
  GatewayStats,
  InteractionReply,
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
  readonly #world: World;
  readonly #wire: WireJson;
  readonly #gateway: Gateway;
  readonly #messages: MessageStore;
  readonly #router: RestRouter;
  readonly #ackTimeoutMs: number;
  readonly #endpoints: Endpoints;
  #port = 0;

  constructor(options: DiscordEmulatorOptions = {}) {
    const world = new World({
      botUsername: options.botUsername ?? 'Komrade',
      botPermissions: options.botPermissions ?? DEFAULT_BOT_PERMISSIONS,
      now: Date.now,
    });
    this.#world = world;
    this.applicationId = world.applicationId;
    this.botUser = world.botUser;
    // Shaped like a real token: base64 of the bot's id, a timestamp part, an HMAC part.
    this.token =
      options.token ??
      `${Buffer.from(this.botUser.id).toString('base64url')}.${randomBytes(4).toString('base64url')}.${randomBytes(20).toString('base64url')}`;
    // Read when needed: the port is known only once the server listens.
    this.#endpoints = {
      api: () => this.url,
      cdn: () => this.cdnUrl,
      gateway: () => this.gatewayUrl,
    };
    const wire = new WireJson(world, this.#endpoints);
    this.#wire = wire;
    this.#gateway = new Gateway({
      token: this.token,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      stats: this.gateway,
      ready: (sessionId) => wire.ready(sessionId),
    });
    this.#messages = new MessageStore(world, wire, this.#gateway);
    this.#ackTimeoutMs = options.interactionAckTimeoutMs ?? 3000;
    const deps: RouteDeps = {
      world,
      wire,
      messages: this.#messages,
      gateway: this.#gateway,
      endpoints: this.#endpoints,
    };
    this.#router = new RestRouter({
      world,
      token: this.token,
      limits: { ...DEFAULT_LIMITS, ...options.rateLimits },
      restCalls: this.restCalls,
      routes: [
        ...userRoutes(deps, this.gateway),
        ...applicationCommandRoutes(deps),
        ...interactionRoutes(deps),
        ...webhookRoutes(deps),
        ...channelRoutes(deps),
        ...guildRoutes(deps),
      ],
    });
    this.#server = createServer((req, res) => {
      this.#router.handle(req, res).catch((error: unknown) => {
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
    return this.#router.rateLimitedCount;
  }

  /** REST requests no emulated route matched, so tests see what discord.js called. */
  get unknownRoutes(): RestCall[] {
    return this.restCalls.filter((call) => call.unknownRoute);
  }

  // ---- Test-facing world building -------------------------------------------------------------

  /** Creates a guild with the bot in it (and an owner); a connected bot gets GUILD_CREATE. */
  createGuild({ name }: { name: string }): EmulatedGuild {
    const state = this.#world.addGuild(name);
    for (const session of this.#gateway.liveSessions()) {
      this.#gateway.send(session, 'GUILD_CREATE', this.#wire.guildCreate(state));
    }
    return state.guild;
  }

  /** Creates a text channel; a connected bot gets CHANNEL_CREATE. */
  createChannel(guildId: string, name: string): EmulatedChannel {
    const channel = this.#world.addChannel(guildId, name);
    this.#gateway.dispatch('CHANNEL_CREATE', this.#wire.channel(channel), Intent.Guilds);
    return channel;
  }

  /** Adds a member; `admin` gives them a role with Administrator. */
  addMember(guildId: string, { username, admin = false }: { username: string; admin?: boolean }) {
    const member = this.#world.addMember(guildId, username, admin);
    this.#gateway.dispatch(
      'GUILD_MEMBER_ADD',
      { ...this.#wire.member(member), guild_id: guildId },
      Intent.GuildMembers,
    );
    return member.user;
  }

  /** A member writes `content` in a channel: the bot gets MESSAGE_CREATE. */
  userSays(channelId: string, userId: string, content: string): EmulatedMessage {
    const channel = this.#world.channel(channelId);
    const member = this.#world.guild(channel.guildId).members.get(userId);
    if (member === undefined) throw new Error(`user ${userId} is not a member of the guild`);
    if (content.length > 2000) throw new Error('Discord clients send at most 2000 characters');
    return this.#messages.store({
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
    return runSlashCommand(
      {
        world: this.#world,
        wire: this.#wire,
        gateway: this.#gateway,
        endpoints: this.#endpoints,
        ackTimeoutMs: this.#ackTimeoutMs,
      },
      { channelId, userId, name, options, timeoutMs },
    );
  }

  // ---- Test-facing observation ----------------------------------------------------------------

  /**
   * What the bot, its webhooks and its interaction answers posted in a channel (not ephemeral
   * answers, not deleted messages), oldest first; `includeUsers` adds the users' messages.
   */
  messages(channelId: string, { includeUsers = false } = {}): EmulatedMessage[] {
    return this.#world.messages.filter(
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
    const waiters = this.#world.waiters;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = list().find(predicate);
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        const seen = list().map(show);
        reject(new Error(`no matching ${what} in ${timeoutMs} ms; saw ${JSON.stringify(seen)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }

  /** What the bot wrote to a user in direct messages, oldest first. */
  dms(userId: string): EmulatedMessage[] {
    const channelId = this.#world.dmOfUser.get(userId);
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
    if (open) this.#world.closedDms.delete(userId);
    else this.#world.closedDms.add(userId);
  }

  /** The application commands registered, global and per guild. */
  commands(): RegisteredCommand[] {
    return this.#world.commands.map((c) => ({
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
    return this.#world.webhooksOf(channelId);
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
    abandonInteractions(this.#world, 'emulator closed');
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
}

/** Starts an emulator on a free loopback port. */
export async function startDiscordEmulator(
  options: DiscordEmulatorOptions = {},
): Promise<DiscordEmulator> {
  const emulator = new DiscordEmulator(options);
  await emulator.start();
  return emulator;
}
