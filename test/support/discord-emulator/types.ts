/** The emulator's public shapes: options, the world's records, and what tests read back. */

/** A fixed-window rate limit: `limit` requests per `windowMs`. */
export interface RateLimit {
  readonly limit: number;
  readonly windowMs: number;
}

/** The rate limits the emulator enforces (Discord's values by default). */
export interface DiscordRateLimits {
  /**
   * Executions per webhook. Like Discord, this limit does not show in the headers of successful
   * executions; only the 429 that enforces it reveals it.
   * @defaultValue 5 per 2000 ms
   */
  readonly webhookExecute: RateLimit;
  /** Webhook messages per channel, advertised in the headers. @defaultValue 30 per 60 000 ms */
  readonly webhookChannel: RateLimit;
  /** Bot messages per channel (`POST /channels/:id/messages`). @defaultValue 5 per 5000 ms */
  readonly channelMessages: RateLimit;
  /** Every other route, per route and top-level resource. @defaultValue 50 per 1000 ms */
  readonly other: RateLimit;
}

/** How to start the emulator. */
export interface DiscordEmulatorOptions {
  /** The bot token the emulator accepts. @defaultValue a fresh random token */
  readonly token?: string;
  /** @defaultValue `'Komrade'` */
  readonly botUsername?: string;
  /** Sent in HELLO. @defaultValue 41 250 */
  readonly heartbeatIntervalMs?: number;
  /** Discord drops an interaction nobody acknowledged within 3 s. @defaultValue 3000 */
  readonly interactionAckTimeoutMs?: number;
  readonly rateLimits?: Partial<DiscordRateLimits>;
  /** The bot's role permissions in every guild. @defaultValue members' rights plus webhooks */
  readonly botPermissions?: bigint;
}

/** A user, the bot included. */
export interface EmulatedUser {
  readonly id: string;
  readonly username: string;
  readonly bot: boolean;
}

/** A guild and the ids of the roles the emulator made for it. */
export interface EmulatedGuild {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  /** The `@everyone` role has the guild's id. */
  readonly everyoneRoleId: string;
  /** Members added with `admin: true` get this role (Administrator). */
  readonly adminRoleId: string;
  readonly botRoleId: string;
}

/** A text channel. */
export interface EmulatedChannel {
  readonly id: string;
  readonly guildId: string;
  readonly name: string;
}

/** Who posted a message: a user, the bot, a webhook, or the bot answering an interaction. */
export type MessageSource = 'user' | 'bot' | 'webhook' | 'interaction';

/** A message as the emulator keeps it. */
export interface EmulatedMessage {
  readonly id: string;
  readonly channelId: string;
  readonly guildId: string;
  readonly source: MessageSource;
  readonly author: EmulatedUser;
  /** The webhook that posted it (the application id for interaction answers), else null. */
  readonly webhookId: string | null;
  /** The `avatar_url` a webhook execution gave, else null. */
  readonly avatarUrl: string | null;
  readonly interactionId: string | null;
  content: string;
  embeds: unknown[];
  components: unknown[];
  /** `data`: the uploaded bytes (files the bot sent). */
  attachments: { readonly filename: string; readonly size: number; readonly data?: Buffer }[];
  flags: number;
  readonly createdAt: number;
  editedAt: number | null;
  edits: number;
  deleted: boolean;
}

/** A webhook created through the API. */
export interface EmulatedWebhook {
  readonly id: string;
  readonly token: string;
  readonly channelId: string;
  readonly guildId: string;
  name: string;
  avatar: string | null;
}

/** An application command as the bot registered it. */
export interface RegisteredCommand {
  readonly id: string;
  /** null for a global command. */
  readonly guildId: string | null;
  readonly name: string;
  readonly description: string;
  readonly type: number;
  readonly options: readonly CommandOptionDefinition[];
  readonly defaultMemberPermissions: string | null;
}

/** One option of a registered command, as Discord stores it. */
export interface CommandOptionDefinition {
  readonly type: number;
  readonly name: string;
  readonly description?: string;
  readonly required?: boolean;
  readonly options?: readonly CommandOptionDefinition[];
}

/** What the bot answered to a slash command. */
export interface InteractionReply {
  readonly interactionId: string;
  /** 4 (message), 5 (deferred, then edited) or 9 (modal). */
  readonly callbackType: number;
  readonly deferred: boolean;
  content: string;
  ephemeral: boolean;
  flags: number;
  embeds: unknown[];
  components: unknown[];
  /** A modal's `data`, for callback type 9. */
  readonly modal: unknown;
  /** Follow-up messages, also after the promise resolved. */
  readonly followUps: EmulatedMessage[];
  /** Files of the answer (a deferred answer's, once edited), with their bytes. */
  files?: EmulatedMessage['attachments'];
}

/** One REST request the emulator answered. */
export interface RestCall {
  readonly method: string;
  /** After `/api/v10`, e.g. `/channels/123/messages`. */
  readonly path: string;
  readonly query: string;
  readonly status: number;
  readonly body: unknown;
  /** Whether no emulated route matched it. */
  readonly unknownRoute: boolean;
  readonly at: number;
}

/** Counters of the gateway's life. */
export interface GatewayStats {
  connections: number;
  identifies: number;
  resumes: number;
  invalidSessions: number;
  heartbeats: number;
}

/** A slash command option value, as a user would type it (ids for users, channels, roles). */
export type SlashValue = string | number | boolean | EmulatedUpload;

/** A file a user attaches to an attachment option. */
export interface EmulatedUpload {
  readonly filename: string;
  readonly bytes: Uint8Array;
}
