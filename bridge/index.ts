/**
 * @module Bridge: the client engine every adapter (CLI, Telegram, Discord) drives, its ports, and
 * their implementations. Adapters import this file only.
 */

// The engine
export {
  KomradeClient,
  type CreateCollectiveOptions,
  type FeedOptions,
  type KomradeClientDeps,
  type RegisterOptions,
} from './client/komrade-client.js';
export type {
  AdmissionNotice,
  CandidateView,
  CollectiveView,
  MemberView,
  ProposalView,
  ReceivedCollectiveMessage,
  SentCollectiveMessage,
  Standing,
  VoteOutcome,
  VouchOutcome,
} from './client/collective-views.js';
export { untrustedLine } from './client/collective-views.js';
export type {
  FeedPost,
  FeedView,
  FollowersPost,
  InboxCheck,
  KomradeProfile,
  LetterRequest,
  PublishedPost,
  ReceivedKind,
  ReceivedLetter,
  RecipientFailure,
  SentLetter,
  WhoAmI,
} from './client/views.js';
/** Who holds an identity's keys, as signed in its registration (re-exported from common/wire). */
export type { AdapterKeyHolder, KeyHolder } from '../common/wire/index.js';

// Reaching the Operator
export type {
  CollectiveLogPage,
  FeedPageRequest,
  FetchedLetters,
  OperatorClient,
  OutgoingLetter,
  PostedToFeed,
  RequestSigner,
  SentLetters,
  SentToCollective,
  WaitingLetter,
} from './operator-client/operator-client.js';
export {
  HttpOperatorClient,
  type HttpOperatorClientOptions,
} from './operator-client/http-operator-client.js';
export {
  RetryingOperatorClient,
  describeTransientFailure,
  failedBeforeSending,
  type OperatorRetry,
  type OperatorRetryPolicy,
} from './operator-client/retrying-operator-client.js';

// Transport: onion Operators only through Tor, loopback for development, nothing else
export {
  createOperatorDispatcher,
  type OperatorDispatcherOptions,
} from './transport/create-operator-dispatcher.js';
export {
  checkOperatorUrl,
  checkSocksAddress,
  parseSocksAddress,
  type OperatorDestination,
} from './transport/operator-destination.js';
export { ensureCircuitIsolationKey } from './transport/isolation-key.js';

// Secrets at rest
export type { Keystore, KeystoreProgress, KeystoreSecrets } from './keystore/keystore.js';
export {
  FileKeystore,
  KEYSTORE_VERSION,
  type FileKeystoreOptions,
} from './keystore/file-keystore.js';
export {
  BACKUP_VERSION,
  MAX_BACKUP_BYTES,
  openBackup,
  sealBackup,
  snapshotLocalStore,
  writeBackupFile,
  writeLocalStoreImage,
  type BackupContents,
  type SealBackupOptions,
} from './backup/index.js';

// Local state
export type {
  Contact,
  ContactState,
  FollowOutcome,
  FollowStatement,
  LetterFolder,
  LocalStore,
  PinnedOperator,
  SocksAddress,
  StoredCollectiveMessage,
  StoredLetter,
} from './local-store/local-store.js';
export {
  SqliteLocalStore,
  type SqliteLocalStoreOptions,
} from './local-store/sqlite-local-store.js';

// Running Komrade for many chat users (the Telegram and Discord adapters)
export {
  BridgeEngine,
  type BridgeEngineDeps,
  type IdentitySummary,
} from './engine/bridge-engine.js';
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
export type {
  BridgeStore,
  Delivery,
  DeliveryState,
  HeldIdentity,
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
