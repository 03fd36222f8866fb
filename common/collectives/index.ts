/**
 * @module Collectives: a collective's signed, hash-chained event log and the rule engine that both
 * the Operator and every member's client run on it. Pure code: no storage, no network, no clock.
 */

// The constitution: rules as data
export {
  DEFAULT_CONSTITUTION,
  MAX_ALLOWED_KEY_HOLDERS,
  MAX_QUORUM,
  MAX_VOTING_WINDOW_DAYS,
  MAX_VOTING_WINDOW_MS,
  MIN_VOTING_WINDOW_MS,
  constitutionSchema,
  quorumFor,
  votesRequired,
  type Constitution,
  type QuorumRule,
  type Ratio,
  type Threshold,
} from './constitution.js';

// Events: format, signing, hashing
export {
  COLLECTIVE_EVENT_KINDS,
  EVENT_HASH_BYTES,
  GENESIS_PREV,
  MAX_FOUNDERS,
  MAX_JOIN_NOTE_BYTES,
  checkCollectiveEvent,
  decodeCollectiveEvent,
  eventHash,
  signCollectiveEvent,
  type CollectiveEvent,
  type CollectiveEventKind,
  type CollectiveEventOf,
  type ProposalChange,
  type SignedCollectiveEvent,
} from './event.js';
export { namesIn, namesInSigned } from './event-names.js';

// The rule engine
export {
  CollectiveLog,
  foldLog,
  genesisDraft,
  type CollectiveLookups,
  type CollectiveState,
  type OpenProposal,
  type PendingCandidate,
} from './collective-log.js';
export { COLLECTIVE_RULES, CollectiveRuleError, type CollectiveRule } from './collective-error.js';

// Proof of work for a collective's name, and messages to every member
export { collectivePowBytes } from './collective-pow.js';
export {
  COLLECTIVE_BODY_OVERHEAD_BYTES,
  checkCollectiveMessage,
  decoyKeyEnvelope,
  keyEnvelopeBytes,
  openCollectiveBody,
  openKeyEnvelope,
  sealCollectiveBody,
  sealKeyEnvelope,
  verifyCollectiveMessage,
  type CollectiveKeyEnvelope,
  type CollectiveMessage,
  type CollectiveRecipient,
  type OpenedCollectiveMessage,
  type SealedCollectiveBody,
  type SealedCollectiveMessage,
} from './collective-message.js';
