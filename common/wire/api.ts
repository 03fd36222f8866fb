/** JSON bodies of the Operator's HTTP API (`/v1`), shared by the Operator and its clients. */
import { z } from 'zod';
import { OPERATOR_ERROR_CODES } from '../errors/index.js';
import { base64urlBytes } from './base64url.js';
import {
  ID_BYTES,
  MAX_ACK_IDS,
  MAX_COLLECTIVE_BODY_BYTES,
  MAX_FEED_PAGE,
  MAX_FETCH_LETTERS,
  MAX_MAIL_WAIT_MS,
  MAX_POST_BODY_BYTES,
  MAX_SEALED_LETTER_BYTES,
  MAX_WAIT_MAILBOXES,
  POW_NONCE_BYTES,
} from './limits.js';
import { isCanonicalName } from './names.js';
import { MAX_LOG_ENTRIES, logProofSchema } from './registry-log.js';
import { CURVE25519_KEY_TYPE, KEY_HOLDER_PATTERN, RATCHET_KEY_BYTES } from './registration.js';

const key = base64urlBytes({ exact: 32 });
const sig = base64urlBytes({ exact: 64 });
const id = base64urlBytes({ exact: ID_BYTES });
const canonicalName = z.string().max(32).refine(isCanonicalName, 'not a canonical name');
const time = z.number().int().nonnegative();
/**
 * Who holds the registrant's secret keys (`self` or a chat surface's label, e.g. `telegram`);
 * signed in the claim and the receipt. Open, of a fixed shape: see `KEY_HOLDER_PATTERN`.
 */
export const keyHolderSchema = z
  .string()
  .max(24)
  .regex(KEY_HOLDER_PATTERN, 'a key-holder label: a-z, then 1 to 23 of a-z, 0-9 and "-"');
const keyHolder = keyHolderSchema;

/**
 * A libsignal Curve25519 public key as it serializes: 33 bytes, the first 0x05. The ratchet
 * identity key of a registration, and every EC prekey.
 */
export const curve25519KeySchema = base64urlBytes({ exact: RATCHET_KEY_BYTES }).refine(
  (bytes) => bytes[0] === CURVE25519_KEY_TYPE,
  'not a Curve25519 public key (its first byte must be 0x05)',
);
const ratchetKey = curve25519KeySchema;

/** The API's routes. */
export const ROUTES = Object.freeze({
  operator: '/v1/operator',
  register: '/v1/register',
  /** Signed: adds the ratchet key to a name registered without one (once, for good). */
  ratchetKey: '/v1/komrades/ratchet-key',
  komrade: '/v1/komrades/', // + name
  fetch: '/v1/mail/fetch',
  ack: '/v1/mail/ack',
  wait: '/v1/mail/wait',
  post: '/v1/feed/post',
  feed: '/v1/feed/page',
  health: '/v1/health',
});

/** GET /v1/operator: the Operator's public keys and limits. */
export const operatorInfoSchema = z.strictObject({
  version: z.literal(2),
  signKey: key,
  /** The `@komrades` X25519 key posts are sealed to. */
  feedKey: key,
  /** The RFC 9497 POPRF public key anonymous tokens are issued under (clients pin it). */
  tokenKey: key,
  /** Tokens one komrade may obtain per epoch (one UTC day). */
  tokensPerDay: z.number().int().nonnegative(),
  powBits: z.number().int().min(0).max(40),
  limits: z.strictObject({
    sealedLetterBytes: z.number().int().positive(),
    batchLetters: z.number().int().positive(),
    requestBytes: z.number().int().positive(),
    maxPostDays: z.number().int().positive(),
    feedPageSize: z.number().int().positive(),
    fetchLetters: z.number().int().positive(),
  }),
});
export type OperatorInfo = z.output<typeof operatorInfoSchema>;

/** POST /v1/register. */
export const registerRequestSchema = z.strictObject({
  name: z.string().max(64),
  signKey: key,
  boxKey: key,
  keyHolder,
  /**
   * Required of every new registration (the Operator refuses one without, `KEY_INVALID`); the
   * schema admits its absence only so that refusal can say why.
   */
  ratchetKey: ratchetKey.nullable().optional(),
  pop: sig,
  pow: base64urlBytes({ exact: POW_NONCE_BYTES }),
});
export type RegisterRequest = z.output<typeof registerRequestSchema>;

/**
 * A receipt as JSON (answer to register and lookup). `ratchetKey` is `null` only for a name
 * registered before ratchet keys that has not added one yet.
 */
export const receiptSchema = z.strictObject({
  name: canonicalName,
  signKey: key,
  boxKey: key,
  keyHolder,
  ratchetKey: ratchetKey.nullable(),
  registeredAt: time,
  sig,
  /** Where the receipt sits in the registry's transparency log (every answer carries it). */
  proof: logProofSchema.optional(),
});

/**
 * POST /v1/komrades/ratchet-key (signed by the name's identity): `pop` is `proveClaim` over the
 * registered claim with this `ratchetKey` in it.
 */
export const ratchetKeyRequestSchema = z.strictObject({ ratchetKey, pop: sig });
export type RatchetKeyRequest = z.output<typeof ratchetKeyRequestSchema>;

export const receiptResponseSchema = z.strictObject({ receipt: receiptSchema });

/**
 * GET /v1/log/entries?start=S&end=E: the receipts of leaves S to E − 1, in log order, without
 * proofs (a monitor rebuilds the tree from them and compares its root with a checkpoint).
 */
export const logEntriesResponseSchema = z.strictObject({
  start: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  entries: z.array(receiptSchema.omit({ proof: true })).max(MAX_LOG_ENTRIES),
});

/** Ids of downloaded letters to delete (the ack route's and the fetch's `ack`). */
const ackIds = z.array(id).min(1).max(MAX_ACK_IDS);

/**
 * POST /v1/mail/fetch. `ack` deletes those of the requester's letters first (as the ack route
 * does), so the ids of one fetch ride on the next: a steady-state round is one request.
 */
export const fetchRequestSchema = z.strictObject({
  limit: z.number().int().min(1).max(MAX_FETCH_LETTERS).optional(),
  ack: ackIds.optional(),
});
export const fetchResponseSchema = z.strictObject({
  letters: z.array(
    z.strictObject({
      id,
      sealed: base64urlBytes({ max: MAX_SEALED_LETTER_BYTES }),
      receivedAt: time,
      /**
       * Only for a collective message: the body sealed once for every member; `sealed` is then
       * this member's envelope of the content key.
       */
      body: base64urlBytes({ max: MAX_COLLECTIVE_BODY_BYTES }).optional(),
    }),
  ),
  more: z.boolean(),
  /** Only when the request carried `ack`: how many of those letters were deleted. */
  deleted: z.number().int().nonnegative().optional(),
});

/**
 * POST /v1/mail/wait: hold the request until one of these mailboxes has mail, or `waitMs` passes.
 * Not signed with the Authorization header: each mailbox carries its owner's proof instead (see
 * `signMailWait`), so one request can cover many mailboxes.
 */
export const waitRequestSchema = z.strictObject({
  mailboxes: z
    .array(z.strictObject({ name: z.string().max(64), at: time, sig }))
    .min(1)
    .max(MAX_WAIT_MAILBOXES),
  waitMs: z.number().int().min(0).max(MAX_MAIL_WAIT_MS),
});
export type WaitRequest = z.output<typeof waitRequestSchema>;
/** The mailboxes asked about that have mail; empty when the time ran out first. */
export const waitResponseSchema = z.strictObject({
  ready: z.array(canonicalName).max(MAX_WAIT_MAILBOXES),
});

/** POST /v1/mail/ack: delete downloaded letters. */
export const ackRequestSchema = z.strictObject({ ids: ackIds });
export const ackResponseSchema = z.strictObject({ deleted: z.number().int().nonnegative() });

/** POST /v1/feed/post. */
export const postRequestSchema = z.strictObject({
  sealed: base64urlBytes({ max: MAX_POST_BODY_BYTES + 1_024 }),
});
export const postResponseSchema = z.strictObject({ id, expiresAt: time });

/** POST /v1/feed/page: a page of the world feed, newest first, sealed to the requester. */
export const feedRequestSchema = z.strictObject({
  before: z.string().max(200).optional(),
  limit: z.number().int().min(1).max(MAX_FEED_PAGE).optional(),
});
export const feedResponseSchema = z.strictObject({ sealed: base64urlBytes({ max: 2_000_000 }) });

/** Every error answer. */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({ code: z.enum(OPERATOR_ERROR_CODES), message: z.string().max(1_000) }),
});
