/**
 * @module Bridge: the client engine every adapter (CLI, Telegram, Discord) drives, its ports, and
 * their implementations. Adapters import this file only.
 */

// The engine
export {
  KomradeClient,
  type FeedOptions,
  type KomradeClientDeps,
  type RegisterOptions,
} from './client/komrade-client.js';
export type {
  FeedPost,
  FeedView,
  InboxCheck,
  KomradeProfile,
  LetterRequest,
  PublishedPost,
  ReceivedLetter,
  SentLetter,
  WhoAmI,
} from './client/views.js';

// Reaching the Operator
export type {
  FeedPageRequest,
  FetchedLetters,
  OperatorClient,
  OutgoingLetter,
  PostedToFeed,
  RequestSigner,
  SentLetters,
  WaitingLetter,
} from './operator-client/operator-client.js';
export {
  HttpOperatorClient,
  type HttpOperatorClientOptions,
} from './operator-client/http-operator-client.js';

// Secrets at rest
export type { Keystore, KeystoreProgress, KeystoreSecrets } from './keystore/keystore.js';
export {
  FileKeystore,
  KEYSTORE_VERSION,
  type FileKeystoreOptions,
} from './keystore/file-keystore.js';

// Local state
export type {
  ContactState,
  LetterFolder,
  LocalStore,
  PinnedOperator,
  StoredLetter,
} from './local-store/local-store.js';
export {
  SqliteLocalStore,
  type SqliteLocalStoreOptions,
} from './local-store/sqlite-local-store.js';
