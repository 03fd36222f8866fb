/**
 * A local emulation of Discord's API v10 for tests, speaking the real wire protocol so the real
 * discord.js client can be pointed at it: REST under `/api/v10` (with Discord's rate-limit headers
 * and 429 answers) and the gateway over WebSocket (JSON encoding, no compression). Tests create
 * guilds, channels and members, play the users (`userSays`, `slash`) and read what the bot and its
 * webhooks posted, and what it wrote to users in direct messages (`dms`, `closeDms`). Files the
 * bot uploads are kept with their bytes; a file a user attaches to an attachment option is served
 * at its `url` (`/attachments/<id>/<name>`, like Discord's CDN). Everything listens on 127.0.0.1 only.
 */
export { DiscordEmulator, startDiscordEmulator } from './emulator.js';
export type {
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
