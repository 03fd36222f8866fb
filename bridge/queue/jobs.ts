/**
 * The bridge's queues and their jobs: one zod schema per job name, so a payload read back from
 * Redis is checked before use. Payloads hold opaque ids and ciphertext only, never plaintext,
 * names or keys.
 */
import { z } from 'zod';
import { KomradeError } from '../../common/errors/index.js';

/** Opaque identity id: 22 base64url characters (16 random bytes), unrelated to any chat user. */
const identityId = z.string().regex(/^[A-Za-z0-9_-]{22}$/);
/** Opaque delivery id (the ledger's primary key). */
const deliveryId = z.string().regex(/^[A-Za-z0-9_-]{22}$/);
/** Opaque outbox row id (the bridge store's durable outbox). */
const outboxRowId = z.string().regex(/^[A-Za-z0-9_-]{22}$/);

/** The queues, by role. Real queue names are `<prefix>` + role, see {@link queueNames}. */
export const QUEUE_ROLES = ['outbox', 'poll', 'deliver'] as const;
export type QueueRole = (typeof QUEUE_ROLES)[number];

/**
 * Largest collective envelope: a body of up to 64 KiB, the message kept to seal it again, and up to
 * 5,000 key envelopes, in base64url.
 */
const MAX_COLLECTIVE_ENVELOPE_CHARS = 2_500_000;

/**
 * Job payload schemas, one per queue role.
 * - `outbox`: the id of a row in the bridge store's durable outbox (which holds the sealed send);
 *   the job is named after it (see {@link outboxJobId}). Jobs queued by older versions carry the
 *   send itself instead: a letter already sealed to its recipient, itself encrypted (with the
 *   recipient's name) under the adapter's queue key, or with `kind: 'collective'` a message to a
 *   collective (its fan-out and the signed message, under the queue key); they are moved into the
 *   outbox at start.
 * - `poll`: fetch an identity's waiting letters.
 * - `deliver`: show one fetched letter in the chat, then acknowledge it at the Operator.
 */
export const JOB_SCHEMAS = {
  outbox: z.union([
    z.strictObject({ identity: identityId, row: outboxRowId }),
    z.strictObject({ identity: identityId, envelope: z.string().max(200_000) }),
    z.strictObject({
      identity: identityId,
      kind: z.literal('collective'),
      envelope: z.string().max(MAX_COLLECTIVE_ENVELOPE_CHARS),
    }),
  ]),
  poll: z.strictObject({ identity: identityId }),
  deliver: z.strictObject({ identity: identityId, delivery: deliveryId }),
} as const;

/** The payload of each job name. */
export type JobPayloads = { [K in QueueRole]: z.output<(typeof JOB_SCHEMAS)[K]> };

/** The BullMQ queue name of each role under a prefix (also used as the BullMQ key prefix). */
export function queueNames(prefix: string): Readonly<Record<QueueRole, string>> {
  return Object.freeze({
    outbox: `${prefix}-outbox`,
    poll: `${prefix}-poll`,
    deliver: `${prefix}-deliver`,
  });
}

/**
 * The BullMQ job id of an outbox row: queueing a row twice (a restart, Redis found empty) queues
 * it once while its job is still in Redis.
 */
export const outboxJobId = (row: string): string => `o_${row}`;

/**
 * Checks a payload read back from Redis against its job's schema.
 * @throws `DECODE_FAILED` when the shape is wrong
 */
export function decodeJob<K extends QueueRole>(role: K, data: unknown): JobPayloads[K] {
  const parsed = JOB_SCHEMAS[role].safeParse(data);
  if (!parsed.success) {
    throw new KomradeError('DECODE_FAILED', `A ${role} job has a malformed payload.`);
  }
  return parsed.data as JobPayloads[K];
}
