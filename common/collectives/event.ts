/** Collective events: the closed union of what can happen to a collective, signed and hash-chained. */
import { z } from 'zod';
import { blake2b, signDetached } from '../crypto/index.js';
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import { TAGS, isCanonicalName, parseWith, signedBytes, unwrapSignedBytes } from '../wire/index.js';
import { constitutionSchema } from './constitution.js';

/** Bytes in an event hash (BLAKE2b-256) and so in `prev`. */
export const EVENT_HASH_BYTES = 32;
/** The `prev` of a genesis event: 32 zero bytes. */
export const GENESIS_PREV: Uint8Array = new Uint8Array(EVENT_HASH_BYTES);
/** Most founders a genesis may list. */
export const MAX_FOUNDERS = 64;
/** Longest note on a join request, in UTF-8 bytes. */
export const MAX_JOIN_NOTE_BYTES = 1_024;

/** Every kind of collective event, in no particular order. */
export const COLLECTIVE_EVENT_KINDS = [
  'genesis',
  'join-request',
  'vouch',
  'admit',
  'leave',
  'proposal',
  'vote',
  'enactment',
] as const;

/** One of {@link COLLECTIVE_EVENT_KINDS}. */
export type CollectiveEventKind = (typeof COLLECTIVE_EVENT_KINDS)[number];

const name = z.string().max(32).refine(isCanonicalName, 'not a canonical name');
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hashBytes = z.custom<Uint8Array>(
  (value) => value instanceof Uint8Array && value.length === EVENT_HASH_BYTES,
  `expected ${EVENT_HASH_BYTES} bytes`,
);

/** What a proposal asks for: a whole new constitution, or the removal of one member. */
export const proposalChangeSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('amend'), constitution: constitutionSchema }),
  z.strictObject({ action: z.literal('remove'), member: name }),
]);

/** See {@link proposalChangeSchema}. */
export type ProposalChange = z.output<typeof proposalChangeSchema>;

const header = {
  v: z.literal(1),
  collective: name,
  seq,
  prev: hashBytes,
  at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  actor: name,
};

const eventSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...header,
    kind: z.literal('genesis'),
    body: z.strictObject({
      founders: z
        .array(name)
        .min(1)
        .max(MAX_FOUNDERS)
        .refine((list) => new Set(list).size === list.length, 'founders must be distinct'),
      constitution: constitutionSchema,
    }),
  }),
  z.strictObject({
    ...header,
    kind: z.literal('join-request'),
    body: z.strictObject({
      note: z
        .string()
        .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_JOIN_NOTE_BYTES, 'note too long'),
    }),
  }),
  z.strictObject({
    ...header,
    kind: z.literal('vouch'),
    body: z.strictObject({ candidate: name }),
  }),
  z.strictObject({
    ...header,
    kind: z.literal('admit'),
    body: z.strictObject({ candidate: name }),
  }),
  z.strictObject({ ...header, kind: z.literal('leave'), body: z.strictObject({}) }),
  z.strictObject({ ...header, kind: z.literal('proposal'), body: proposalChangeSchema }),
  z.strictObject({
    ...header,
    kind: z.literal('vote'),
    body: z.strictObject({ proposal: seq, yes: z.boolean() }),
  }),
  z.strictObject({
    ...header,
    kind: z.literal('enactment'),
    body: z.strictObject({ proposal: seq }),
  }),
]);

/** One event of a collective's log (what the actor signs). */
export type CollectiveEvent = z.output<typeof eventSchema>;

/** The event of kind `K`. */
export type CollectiveEventOf<K extends CollectiveEventKind> = Extract<
  CollectiveEvent,
  { kind: K }
>;

/** An event as stored and served: the exact signed bytes `cbor([tag, event])` and the signature. */
export interface SignedCollectiveEvent {
  readonly signed: Uint8Array;
  readonly sig: Uint8Array;
}

/** Signs `event` with the actor's Ed25519 secret key. The caller checks `event` is well-formed. */
export function signCollectiveEvent(
  event: CollectiveEvent,
  actorSignSecret: Uint8Array,
): SignedCollectiveEvent {
  const signed = signedBytes(TAGS.collective, event);
  return { signed, sig: signDetached(signed, actorSignSecret) };
}

/**
 * Decodes and shape-checks a signed event. Does not check its signature or any rule: that is
 * {@link foldLog}'s and `CollectiveLog.canAppend`'s job.
 * @returns the event, or `COLLECTIVE_INVALID`
 */
export function decodeCollectiveEvent(signed: Uint8Array): Result<CollectiveEvent> {
  try {
    const inner = unwrapSignedBytes(signed, TAGS.collective, 'collective event');
    return parseWith(eventSchema, inner, 'COLLECTIVE_INVALID', 'collective event');
  } catch (cause) {
    return err(new KomradeError('COLLECTIVE_INVALID', 'Collective event is malformed.', { cause }));
  }
}

/** Checks an unsigned event's shape before signing it (clients call this on their own drafts). */
export function checkCollectiveEvent(event: unknown): Result<CollectiveEvent> {
  const parsed = parseWith(eventSchema, event, 'COLLECTIVE_INVALID', 'collective event');
  return parsed.ok ? ok(parsed.value) : parsed;
}

/** The hash that the next event's `prev` must carry: BLAKE2b-256 of the signed bytes. */
export function eventHash(signed: Uint8Array): Uint8Array {
  return blake2b(signed, EVENT_HASH_BYTES);
}
