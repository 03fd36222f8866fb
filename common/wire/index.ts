/** @module Wire: the protocol both the Operator and its clients speak. */

// Encoding
export { bytesEqual, decodeCanonical, encodeCanonical } from './canonical.js';
export { base64urlBytes, fromBase64url, toBase64url } from './base64url.js';
export { describeIssues, parseWith, rawBytes } from './schema.js';

// Names and limits
export {
  NAME_MAX_LENGTH,
  NAME_MIN_LENGTH,
  RESERVED_NAMES,
  WORLD_FEED_NAME,
  isCanonicalName,
  nameSkeleton,
  parseName,
  parseNewName,
} from './names.js';
export {
  CLOCK_SKEW_MS,
  COLLECTIVE_ENVELOPE_MAX_BYTES,
  COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
  COLLECTIVE_KEY_ENVELOPE_BYTES,
  ID_BYTES,
  LETTER_ENVELOPE_MAX_BYTES,
  LETTER_RATCHET_FRAME_MAX_BYTES,
  MAX_COLLECTIVE_BODY_BYTES,
  MAX_COLLECTIVE_EVENT_BYTES,
  MAX_COLLECTIVE_KEY_ENVELOPE_BYTES,
  MAX_COLLECTIVE_LOG_PAGE,
  MAX_COLLECTIVE_RECIPIENTS,
  MAX_ACK_IDS,
  MAX_BATCH_LETTERS,
  MAX_FEED_PAGE,
  MAX_FETCH_LETTERS,
  MAX_LETTER_TEXT_BYTES,
  MAX_MAIL_WAIT_MS,
  MAX_POST_BODY_BYTES,
  MAX_POST_DAYS,
  MAX_SEALED_LETTER_BYTES,
  MAX_WAIT_MAILBOXES,
  NONCE_BYTES,
  POW_NONCE_BYTES,
} from './limits.js';

// Signatures
export {
  TAGS,
  signValue,
  signedBytes,
  unwrapSignedBytes,
  verifyValue,
  type Tag,
} from './signed.js';
export {
  parseRequestAuth,
  signRequest,
  verifyRequestAuth,
  type RequestAuth,
} from './request-auth.js';
export { signMailWait, verifyMailWait, type MailWaitClaim } from './mail-wait.js';

// Registration
export {
  CURVE25519_KEY_TYPE,
  KEY_HOLDERS,
  KEY_HOLDER_PATTERN,
  OWN_DEVICE,
  RATCHET_KEY_BYTES,
  claimBytesForPow,
  isAdapterKeyHolder,
  isKeyHolder,
  isRatchetKey,
  keysOfReceipt,
  proveClaim,
  signReceipt,
  verifyClaimProof,
  verifyReceipt,
  type AdapterKeyHolder,
  type KeyHolder,
  type Receipt,
  type RegistrationClaim,
} from './registration.js';
export {
  LEAF_TAG,
  LOG_ROUTES,
  MAX_CHECKPOINT_NOTE_BYTES,
  MAX_LOG_ENTRIES,
  MAX_LOG_PROOF_HASHES,
  checkpointResponseSchema,
  consistencyResponseSchema,
  isAllowedKeyUpdate,
  logProofJson,
  logProofSchema,
  receiptLeaf,
  registryOrigin,
  type ConsistencyProof,
  type LogProof,
} from './registry-log.js';
export {
  checkProofOfWork,
  leadingZeroBits,
  solveProofOfWork,
  type PowProgress,
  type SolveOptions,
} from './pow.js';

// Letters and posts
export {
  LETTER_KINDS,
  RATCHET_MESSAGE_TYPES,
  isBodylessKind,
  openRatchetLetter,
  openSignedLetter,
  ratchetLetterSchema,
  sealRatchetLetter,
  signLetter,
  verifyLetter,
  type Letter,
  type LetterKind,
  type OpenedLetter,
  type RatchetLetter,
  type RatchetMessageType,
} from './letter.js';
export {
  decodeSignedPost,
  openFeedPage,
  openSealedPost,
  sealFeedPage,
  sealPost,
  signPost,
  verifyPost,
  type FeedPage,
  type OpenedPost,
  type Post,
  type SignedPost,
} from './post.js';

// HTTP API
export {
  ROUTES,
  ackRequestSchema,
  ackResponseSchema,
  curve25519KeySchema,
  errorBodySchema,
  feedRequestSchema,
  feedResponseSchema,
  fetchRequestSchema,
  fetchResponseSchema,
  operatorInfoSchema,
  postRequestSchema,
  postResponseSchema,
  ratchetKeyRequestSchema,
  logEntriesResponseSchema,
  receiptResponseSchema,
  receiptSchema,
  keyHolderSchema,
  registerRequestSchema,
  waitRequestSchema,
  waitResponseSchema,
  type OperatorInfo,
  type RatchetKeyRequest,
  type RegisterRequest,
  type WaitRequest,
} from './api.js';

// Prekeys (v2, forward secrecy): published by each identity, fetched anonymously for a token
export {
  KYBER1024_KEY_TYPE,
  KYBER_PREKEY_BYTES,
  MAX_ONE_TIME_PREKEYS_PER_UPLOAD,
  MAX_PREKEY_ID,
  PREKEY_ROUTES,
  PREKEY_SIGNATURE_BYTES,
  kyberPrekeySchema,
  oneTimePrekeySchema,
  prekeyBundleJson,
  prekeyBundleRequestSchema,
  prekeyBundleSchema,
  prekeyUploadAnswerSchema,
  prekeyUploadJson,
  prekeyUploadSchema,
  signedPrekeySchema,
  type KyberPrekey,
  type OneTimePrekey,
  type PrekeyBundle,
  type PrekeyBundleRequest,
  type PrekeyUpload,
  type PrekeyUploadAnswer,
  type SignedPrekey,
} from './prekey-api.js';
export {
  COLLECTIVE_ROUTES,
  appendEventRequestSchema,
  collectiveHeadRequestSchema,
  collectiveHeadSchema,
  collectiveLogRequestSchema,
  collectiveLogResponseSchema,
  collectiveSendRequestSchema,
  collectiveSendResponseSchema,
  createCollectiveRequestSchema,
  signedEventSchema,
  type CollectiveHead,
} from './collective-api.js';

// Anonymous mail (v2): tokens, the anonymous send, size classes
export {
  MAX_TOKEN_BATCH,
  TOKEN_EPOCH_MS,
  TOKEN_INPUT_BYTES,
  TOKEN_ROUTES,
  acceptedTokenEpochs,
  anonymousSendRequestSchema,
  anonymousSendResponseSchema,
  tokenEpochEnd,
  tokenEpochInfo,
  tokenEpochOf,
  tokenIssueRequestSchema,
  tokenIssueResponseSchema,
  tokenSchema,
  type AnonymousSendRequest,
  type Token,
  type TokenIssueRequest,
  type TokenIssueResponse,
} from './token-api.js';
export {
  LARGEST_SIZE_CLASS,
  SEALED_SIZE_CLASSES,
  SEAL_OVERHEAD_BYTES,
  isSealedSizeClass,
  largestPaddablePlaintext,
  padToSizeClass,
  sizeClassFor,
  unpadFromSizeClass,
} from './size-classes.js';

// Mailbox sessions (v2): one signed handshake, then a MAC and a sequence number per request
export {
  MAX_SESSION_SEQ,
  ReplayWindow,
  SESSION_ID_BYTES,
  SESSION_REPLAY_WINDOW,
  SESSION_ROUTE,
  SESSION_TTL_MS,
  formatSessionAuth,
  isSessionAuth,
  parseSessionAuth,
  sessionGrantBytes,
  sessionOpenRequestSchema,
  sessionOpenResponseSchema,
  sessionRequestBytes,
  type SessionAuth,
  type SessionOpenResponse,
} from './mailbox-session.js';
