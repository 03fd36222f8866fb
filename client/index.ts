/**
 * @module Client: what serves one identity — the client core (sealing, verifying and triaging
 * letters and collective messages), reaching the Operator, its transport, the keystore, the local
 * letter store and backups. The CLI uses this alone; the chat bridge (bridge/) hosts many of these.
 * Nothing here imports bridge/.
 */

// The engine
export {
  KomradeClient,
  type CreateCollectiveOptions,
  type FeedOptions,
  type KomradeClientDeps,
  type PostToFollowersOptions,
  type RegisterOptions,
} from './core/komrade-client.js';
export { DEFAULT_FAN_OUT_WINDOW, fanOutDelays, type FanOutWindow } from './core/fan-out.js';
// Anonymous tokens: one per letter, kept in the local store
export {
  TOKEN_LOW_WATER,
  TOKEN_REFILL_BATCH,
  TokenWallet,
  letterKey,
  type TokenWalletDeps,
} from './tokens/token-wallet.js';
// What the core prepares (sealed, every check passed) and how it triages a fetched letter
export type {
  DropReason,
  SessionReset,
  PrepareOptions,
  PreparedCollectiveMessage,
  PreparedLetter,
  PreparedPost,
  ResealedCollectiveMessage,
  Triaged,
} from './core/prepared.js';
export type {
  AdmissionNotice,
  CandidateView,
  CollectiveChange,
  CollectiveView,
  JoinRequested,
  MemberView,
  ProposalView,
  ReceivedCollectiveMessage,
  SentCollectiveMessage,
  Standing,
  VoteOutcome,
  VouchOutcome,
} from './core/collective-views.js';
export { untrustedLine } from './core/collective-views.js';
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
} from './core/views.js';
/** Who holds an identity's keys, as signed in its registration (re-exported from common/wire). */
export type { AdapterKeyHolder, KeyHolder } from '../common/wire/index.js';

// Reaching the Operator
export type {
  CollectiveLogPage,
  FeedPageRequest,
  FetchedLetters,
  FetchOptions,
  MailWaitOptions,
  MailWaitResult,
  OperatorClient,
  AnonymousLetter,
  OutgoingLetter,
  PostedToFeed,
  RequestSigner,
  SentAnonymously,
  SentToCollective,
  WaitingLetter,
} from './operator-client/operator-client.js';
export {
  HttpOperatorClient,
  type HttpOperatorClientOptions,
} from './operator-client/http-operator-client.js';
export {
  MailboxSessions,
  type MailboxSessionsOptions,
  type SessionRequest,
} from './operator-client/mailbox-session.js';
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
export {
  ANONYMOUS_CIRCUITS,
  ANONYMOUS_CIRCUIT_MAX_AGE_MS,
  ANONYMOUS_SENDS_PER_CIRCUIT,
  createAnonymousCircuits,
  type AnonymousCircuits,
  type AnonymousCircuitsOptions,
} from './transport/anonymous-circuits.js';

// Secrets at rest
export type { Keystore, KeystoreProgress, KeystoreSecrets } from './keystore/keystore.js';
export { MIN_PASSPHRASE_LENGTH, passphraseWeakness } from './keystore/passphrase-rule.js';
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
  StoredToken,
} from './local-store/local-store.js';
export {
  SqliteLocalStore,
  type SqliteLocalStoreOptions,
} from './local-store/sqlite-local-store.js';

// Parts the chat bridge builds on (one client core for every surface)
export { isLetterTooOld } from './core/letter-age.js';
export { checkMessageText, isBlankText, refuseSelfLetter } from './core/message-text.js';
export { nameOrThrow } from './core/names.js';
export { isRecipientFault, recipientFailure } from './core/recipient-failure.js';
export { sealToMembers, type MemberKey, type MemberSealing } from './core/seal-to-members.js';
export { PROCESSED_LETTER_RETENTION_MS } from './local-store/local-store.js';
export { openPrivateDatabase } from './sqlite/open-private-database.js';

// Forward secrecy (pairwise libsignal sessions)
export {
  Ratchet,
  prepareRestoredStore,
  ratchetKeyOf,
  type RatchetMessage,
  type RatchetOpened,
  type RatchetPeer,
  type RatchetStore,
} from './ratchet/index.js';

// The registry's transparency log: receipts checked, checkpoints remembered, evidence kept
export {
  LOG_EVIDENCE_KINDS,
  RegistryAuditor,
  checkReceiptProof,
  logEvidenceSchema,
  logInconsistentError,
  openRegistryCheckpoint,
  parseLogEvidence,
  registryTrust,
  stoppableOperator,
  type CheckpointSource,
  type LogAuditStore,
  type LogEvidence,
  type LogEvidenceKind,
  type ReceiptProofFailure,
  type RegistryAuditorDeps,
} from './transparency/index.js';
// Monitoring the whole log (verify-me, the bots) and witnessing its checkpoints
export {
  RegistryMonitor,
  Witness,
  type LogReader,
  type MonitorEvidence,
  type MonitorProblem,
  type MonitorProblemKind,
  type MonitorProgress,
  type MonitorReport,
  type RegistryMonitorOptions,
  type WatchedIdentity,
  type WitnessMemory,
  type WitnessOptions,
} from './transparency/index.js';
