/**
 * @module Bridge: hosts many identities for chat surfaces (Telegram, Discord) — the engine, its
 * queues, the identity vault, channel links and the adapter host. Each identity is served by the
 * one-identity client in client/. Chat adapters import this file and client/index.ts only.
 */

// Running Komrade for many chat users (the Telegram and Discord adapters)
export {
  BridgeEngine,
  type BridgeEngineDeps,
  type IdentitySummary,
} from './engine/bridge-engine.js';
export type { IdentityVerdict } from './engine/registry-watch.js';
export type { EventOptions } from './engine/handled-events.js';
export {
  sqliteSessionFactory,
  type Session,
  type SessionFactory,
  type SqliteSessionDeps,
} from './engine/sessions.js';
export { JOB_FAILURES, type JobFailure } from './engine/job-failures.js';
export type {
  ChatNotice,
  ChatSurface,
  CollectiveMessageForChat,
  LetterForChat,
} from './chat-surface/chat-surface.js';
export {
  constitutionMessage,
  describeChange,
  trustLabel,
} from './chat-surface/collective-texts.js';
export { splitText } from './chat-surface/split-text.js';

// The chat-surface kit: commands defined once, their views, one catalogue of texts
export {
  errorView,
  numberArg,
  optionalStringArg,
  runCommand,
  stringArg,
  typedName,
  type ArgKind,
  type ArgProblem,
  type ArgSpec,
  type ArgValues,
  type CommandCaller,
  type CommandContext,
  type CommandSpec,
} from './chat-surface/kit/command.js';
export {
  checkArg,
  optionalHere,
  parseOptions,
  parseWords,
  writeCommand,
  type CommandSyntax,
  type ParsedCommand,
  type RawArg,
} from './chat-surface/kit/command-syntax.js';
export {
  bare,
  command,
  count,
  join,
  lines,
  name,
  strong,
  time,
  untrusted,
  verbatim,
  type CommandMention,
  type Rich,
  type RichPart,
} from './chat-surface/kit/rich-text.js';
export {
  commandsTyped,
  discordMarkdown,
  offers,
  plainText,
  render,
  telegramHtml,
  typedOn,
  type Surface,
  type TextStyle,
} from './chat-surface/kit/surface.js';
export type { CommonView, View } from './chat-surface/kit/views.js';
export { say, textOf } from './chat-surface/kit/catalogue.js';
export { errorText, helpText } from './chat-surface/kit/common-texts.js';
export { workingText } from './chat-surface/kit/identity/identity-texts.js';
export {
  collectiveMessageDisplay,
  keyHolderMark,
  letterDisplay,
  noticeText,
} from './chat-surface/kit/letter-display.js';
export {
  WorkingUsers,
  powProgress,
  type PowProgress,
  type PowProgressOptions,
} from './chat-surface/kit/pow-progress.js';
export {
  COLLECTIVE_COMMANDS,
  collectiveArg,
} from './chat-surface/kit/collectives/collective-commands.js';
export { IDENTITY_COMMANDS } from './chat-surface/kit/identity/identity-commands.js';
export { LETTER_COMMANDS } from './chat-surface/kit/letters/letter-commands.js';
export { FEED_COMMANDS } from './chat-surface/kit/feed/feed-commands.js';
export type {
  AddOutboxResult,
  BridgeStore,
  Delivery,
  DeliveryState,
  HandledEvent,
  HeldIdentity,
  NewOutboxRow,
  OutboxKind,
  OutboxRow,
} from './identity-vault/bridge-store.js';
export {
  SqliteBridgeStore,
  type SqliteBridgeStoreKeys,
} from './identity-vault/sqlite-bridge-store.js';
export type {
  ChannelLink,
  ChannelLinkStore,
  ShownMessage,
  StoredWebhook,
} from './channel-links/channel-link-store.js';
export {
  SqliteChannelLinkStore,
  type SqliteChannelLinkStoreKeys,
} from './channel-links/sqlite-channel-link-store.js';
export {
  MASTER_KEY_BYTES,
  deriveBridgeKeys,
  type BridgeKeys,
} from './identity-vault/master-key.js';

// What every chat adapter's process shares: its config, secrets, parts and lifecycle
export {
  adapterConfigShape,
  secretSource,
  withAdapterRules,
  type AdapterConfig,
  type AdapterConfigDefaults,
  type SecretSource,
} from './adapter-host/adapter-config.js';
export {
  readAdapterSecrets,
  type AdapterSecrets,
  type BotTokenRule,
} from './adapter-host/adapter-secrets.js';
export {
  createBridgeEngine,
  openBridgeVault,
  type BridgeHostDeps,
  type BridgeVault,
} from './adapter-host/bridge-host.js';
export { runAdapterProgram, type AdapterProgram } from './adapter-host/run-adapter-program.js';
export { AeadEnvelopeCodec, type EnvelopeCodec, type OutboxEntry } from './queue/envelope-codec.js';
export {
  JOB_SCHEMAS,
  QUEUE_ROLES,
  decodeJob,
  queueNames,
  type JobPayloads,
  type QueueRole,
} from './queue/jobs.js';
export {
  RedisState,
  checkEvictionPolicy,
  sentinelKey,
  type EvictionCheck,
  type RedisStateOptions,
} from './queue/redis-state.js';
