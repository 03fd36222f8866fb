/**
 * JSON bodies of the Operator's collective routes (`/v1/collectives/...`). Every route is a signed
 * POST: the Operator must know who asks before it says anything about a collective.
 */
import { z } from 'zod';
import { base64urlBytes } from './base64url.js';
import {
  ID_BYTES,
  MAX_COLLECTIVE_BODY_BYTES,
  MAX_COLLECTIVE_EVENT_BYTES,
  MAX_COLLECTIVE_KEY_ENVELOPE_BYTES,
  MAX_COLLECTIVE_LOG_PAGE,
  MAX_COLLECTIVE_RECIPIENTS,
  POW_NONCE_BYTES,
} from './limits.js';
import { isCanonicalName } from './names.js';
import { receiptSchema } from './api.js';

const canonicalName = z.string().max(32).refine(isCanonicalName, 'not a canonical name');
const hash = base64urlBytes({ exact: 32 });
const time = z.number().int().nonnegative();
const seq = z.number().int().nonnegative();

/** The collective routes. */
export const COLLECTIVE_ROUTES = Object.freeze({
  create: '/v1/collectives/create',
  append: '/v1/collectives/append',
  head: '/v1/collectives/head',
  log: '/v1/collectives/log',
  send: '/v1/collectives/send',
});

/** A signed event as JSON: the exact signed bytes and the Ed25519 signature. */
export const signedEventSchema = z.strictObject({
  signed: base64urlBytes({ max: MAX_COLLECTIVE_EVENT_BYTES }),
  sig: base64urlBytes({ exact: 64 }),
});

/**
 * POST create: a genesis event signed by the requester (one of its founders) and a proof of work
 * over `collectivePowBytes(genesis)` at the Operator's `powBits`, as for a komrade's name.
 */
export const createCollectiveRequestSchema = z.strictObject({
  genesis: signedEventSchema,
  pow: base64urlBytes({ exact: POW_NONCE_BYTES }),
});

/** Where a collective's log ends, as answered by create, append and head. */
export const collectiveHeadSchema = z.strictObject({
  collective: canonicalName,
  /** Number of events: the `seq` of the next one. */
  length: seq,
  /** Hash of the last event's signed bytes: the `prev` of the next one. */
  head: hash,
  /** `at` of the last event. */
  lastAt: time,
});
export type CollectiveHead = z.output<typeof collectiveHeadSchema>;

/**
 * POST append: the next event, signed by the requester (who must be its actor). The collective is
 * named inside the event. A stale `seq`/`prev` answers `COLLECTIVE_CONFLICT` (refresh, redo,
 * retry); an event the rules refuse answers `COLLECTIVE_RULE`.
 */
export const appendEventRequestSchema = z.strictObject({ event: signedEventSchema });

/** POST head: any registered komrade may ask where a log ends (to draft a join request). */
export const collectiveHeadRequestSchema = z.strictObject({ collective: z.string().max(64) });

/**
 * POST log: events from `from` on, for current members and pending candidates only
 * (`NOT_MEMBER` for anyone else). `receipts` are the Operator-signed receipts of every name the
 * page's events mention, so a client can verify the page without one lookup per name.
 */
export const collectiveLogRequestSchema = z.strictObject({
  collective: z.string().max(64),
  from: seq.optional(),
  limit: z.number().int().min(1).max(MAX_COLLECTIVE_LOG_PAGE).optional(),
});
export const collectiveLogResponseSchema = z.strictObject({
  collective: canonicalName,
  from: seq,
  events: z.array(signedEventSchema).max(MAX_COLLECTIVE_LOG_PAGE),
  /** Total events in the log now. */
  length: seq,
  receipts: z.array(receiptSchema).max(MAX_COLLECTIVE_LOG_PAGE * 64),
});

/**
 * POST send: one message to every current member but the sender. `body` is sealed once under a
 * fresh content key; `keys` holds that key sent to each member through the sender's ratchet
 * session with them and sealed, `COLLECTIVE_KEY_ENVELOPE_BYTES` (a continuing session) or
 * `COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES` (a first message) long; any other length answers
 * `BAD_REQUEST`. The Operator stores the body once and one key envelope per member, and deletes
 * the body with the last envelope. Naming a non-member, or leaving out a member, answers
 * `COLLECTIVE_CONFLICT` (membership changed: refresh and retry). The request stays under the
 * Operator's `requestBytes` (4 MiB by default) while at most ~1,400 envelopes are first messages
 * (~2.8 KB each in base64url, ~550 bytes for a continuing one).
 */
export const collectiveSendRequestSchema = z.strictObject({
  collective: z.string().max(64),
  body: base64urlBytes({ max: MAX_COLLECTIVE_BODY_BYTES }),
  keys: z
    .array(
      z.strictObject({
        to: z.string().max(64),
        sealed: base64urlBytes({ max: MAX_COLLECTIVE_KEY_ENVELOPE_BYTES }),
      }),
    )
    .min(1)
    .max(MAX_COLLECTIVE_RECIPIENTS),
});
export const collectiveSendResponseSchema = z.strictObject({
  /** The stored body's id. */
  id: base64urlBytes({ exact: ID_BYTES }),
  receivedAt: time,
  recipients: z.number().int().positive(),
});
