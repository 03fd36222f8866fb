/** @module Operator: the headless server that keeps names, holds sealed letters and the feed. */

// Server
export {
  createOperatorServer,
  type OperatorServer,
  type OperatorServerOptions,
} from './http/create-operator-server.js';
export { operatorInfo } from './http/routes/operator-info.js';
// Anonymous tokens and sends: the routes' logic as plain functions (benchmarks call them)
export {
  issueTokens,
  type IssueTokensDeps,
  type IssuedTokens,
} from './http/routes/issue-tokens.js';
export {
  sendAnonymously,
  type AnonymousSendDeps,
  type AnonymousSent,
} from './http/routes/anonymous-send.js';
// Prekeys: the bundle route's logic as a plain function
export {
  bundleHash,
  fetchPrekeyBundle,
  type PrekeyBundleDeps,
} from './http/routes/prekey-bundle.js';
export { TokenVerifier, spentTokenHash } from './tokens/check-token.js';
export { decodeFeedCursor, encodeFeedCursor } from './http/feed-cursor.js';
export type { Clock } from './clock.js';
export { MailWaiters, type HeldWait } from './mail/mail-waiters.js';
export { InProcessMailSignal, type MailSignal, type OnMailSignal } from './mail/mail-signal.js';
export {
  CrossOperatorWakeups,
  type CrossOperatorWakeupsOptions,
} from './mail/cross-operator-wakeups.js';
export {
  SessionTable,
  type MailboxSession,
  type OpenedSession,
  type SessionTableOptions,
} from './sessions/session-table.js';

// Config
export { operatorConfigSchema, type OperatorConfig } from './config/operator-config.js';
export {
  databaseUrlFrom,
  loadOperatorConfig,
  parseOperatorConfig,
} from './config/load-operator-config.js';

// Keys at rest
export {
  KeyProtection,
  MASTER_KEY_FILE,
  PASSPHRASE_ENV,
  type KeyProtectionOptions,
  type OpenedSecret,
  type SecretPurpose,
} from './keys/key-protection.js';
export {
  KEY_FILE,
  loadOperatorKeys,
  type LoadOperatorKeysOptions,
  type OperatorKeys,
} from './keys/load-operator-keys.js';

// The onion service
export type { OnionService, PublishedOnion } from './onion/onion-service.js';
export {
  TorOnionService,
  type OnionServiceEvents,
  type TorOnionServiceOptions,
} from './onion/tor-onion-service.js';
export type { OnionKeyStore } from './onion/onion-key-store.js';
export {
  EncryptedOnionKeyFile,
  ONION_KEY_FILE,
  type EncryptedOnionKeyFileOptions,
} from './onion/onion-key-file.js';
export type { ConnectedTor, TorConnector, TorLoss } from './onion/tor-connector.js';
export {
  LaunchedTorConnector,
  type LaunchedTorConnectorOptions,
} from './onion/launched-tor-connector.js';
export {
  AttachedTorConnector,
  type AttachedTorConnectorOptions,
} from './onion/attached-tor-connector.js';

// Storage ports and the SQLite store
export type {
  CollectiveStore,
  NewCollective,
  StoredCollectiveEvent,
} from './store/collective-store.js';
export type { Feed, FeedPosition, StoredPost } from './store/feed.js';
export {
  LETTER_TIME_STEP_MS,
  letterTime,
  type DepositOptions,
  type LetterToDeposit,
  type Mailbox,
  type SharedLetterToDeposit,
  type StoredLetter,
} from './store/mailbox.js';
export type { OperatorStore } from './store/operator-store.js';
export {
  HANDOUT_PERIOD_MS,
  handoutHour,
  type HandoutLimit,
  type PrekeyCounts,
  type PrekeyStore,
  type PrekeysToStore,
  type TakenBundle,
} from './store/prekey-store.js';
export type { RegisteredKomrade, Registry } from './store/registry.js';
export type { LogHead, LogInclusions, LogLeafProof, RegistryLog } from './store/registry-log.js';
export type { ReplayGuard } from './store/replay-guard.js';
export type { SpentDeposit, TokenLedger, TokenSpend } from './store/token-ledger.js';
export { SqliteStore, type SqliteStoreOptions } from './store/sqlite/sqlite-store.js';
export {
  PostgresStore,
  PostgresMailSignal,
  type ExclusiveRound,
  type PostgresStoreOptions,
} from './store/postgres/index.js';

// Collectives
export {
  CollectiveService,
  type CollectiveHeadInfo,
  type CollectiveLogPageInfo,
  type CollectiveRequestContext,
  type CollectiveSendInput,
  type CollectiveSent,
  type CollectiveServiceOptions,
  type CollectiveServiceStore,
} from './collectives/collective-service.js';

// Housekeeping
export { Sweeper, type SweepResult, type SweeperOptions } from './sweeper/sweeper.js';
