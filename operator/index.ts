/** @module Operator: the headless server that keeps names, holds sealed letters and the feed. */

// Server
export {
  createOperatorServer,
  type OperatorServer,
  type OperatorServerOptions,
} from './http/create-operator-server.js';
export { operatorInfo } from './http/routes/operator-info.js';
export { decodeFeedCursor, encodeFeedCursor } from './http/feed-cursor.js';
export type { Clock } from './clock.js';

// Config
export { operatorConfigSchema, type OperatorConfig } from './config/operator-config.js';
export { loadOperatorConfig, parseOperatorConfig } from './config/load-operator-config.js';

// Keys
export {
  KEY_FILE,
  MASTER_KEY_FILE,
  PASSPHRASE_ENV,
  loadOperatorKeys,
  type LoadOperatorKeysOptions,
} from './keys/load-operator-keys.js';

// Storage ports and the SQLite store
export type { Feed, FeedPosition, StoredPost } from './store/feed.js';
export type { DepositOptions, LetterToDeposit, Mailbox, StoredLetter } from './store/mailbox.js';
export type { OperatorStore } from './store/operator-store.js';
export type { RegisteredKomrade, Registry } from './store/registry.js';
export type { ReplayGuard } from './store/replay-guard.js';
export { SqliteStore } from './store/sqlite/sqlite-store.js';

// Housekeeping
export { Sweeper, type SweepResult, type SweeperOptions } from './sweeper/sweeper.js';
