/** Discord's protocol numbers and the emulator's fixed limits. */
import type { DiscordRateLimits } from './types.js';

// Gateway opcodes and intents (Discord's numbers).
export const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;
export const Intent = {
  Guilds: 1,
  GuildMembers: 1 << 1,
  GuildWebhooks: 1 << 5,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
};

export const Permission = {
  CreateInstantInvite: 1n << 0n,
  Administrator: 1n << 3n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  UseExternalEmojis: 1n << 18n,
  ChangeNickname: 1n << 26n,
  ManageWebhooks: 1n << 29n,
  UseApplicationCommands: 1n << 31n,
};
export const EVERYONE_PERMISSIONS =
  Permission.CreateInstantInvite |
  Permission.AddReactions |
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.UseExternalEmojis |
  Permission.ChangeNickname |
  Permission.UseApplicationCommands;
// Every permission bit Discord defines (bits 0 to 52; 47 is unused).
export const ALL_PERMISSIONS = ((1n << 53n) - 1n) & ~(1n << 47n);
export const DEFAULT_BOT_PERMISSIONS =
  EVERYONE_PERMISSIONS | Permission.ManageWebhooks | Permission.ManageMessages;

export const MessageFlag = { Ephemeral: 64, Loading: 128 };
export const OptionType = {
  SubCommand: 1,
  SubCommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
};

export const DEFAULT_LIMITS: DiscordRateLimits = {
  webhookExecute: { limit: 5, windowMs: 2000 },
  webhookChannel: { limit: 30, windowMs: 60_000 },
  channelMessages: { limit: 5, windowMs: 5000 },
  other: { limit: 50, windowMs: 1000 },
};
export const MAX_WEBHOOKS_PER_CHANNEL = 10;
export const DISCORD_EPOCH = 1_420_070_400_000n;
export const BACKLOG_LIMIT = 1000;
