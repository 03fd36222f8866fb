/**
 * Letters (v2): signed by the sender over version, from, to, sent-at, id, kind and body; the signed
 * letter is encrypted in the pairwise Double Ratchet session with the recipient (libsignal), and
 * that message, with the sender's name beside it, is padded to a size class and sealed to the
 * recipient's box key. The seal hides the sender from the Operator; the ratchet makes the letter
 * unreadable to whoever later steals the recipient's keys; the recipient's name inside the
 * signature means a letter cannot be re-addressed; the padding makes a follow, an unfollow, a post
 * and a short text the same length on the wire.
 */
import { z } from 'zod';
import { openSeal, seal, verifyDetached, type IdentityKeys } from '../crypto/index.js';
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import { decodeCanonical, encodeCanonical } from './canonical.js';
import { ID_BYTES, MAX_LETTER_TEXT_BYTES, MAX_SEALED_LETTER_BYTES } from './limits.js';
import { isCanonicalName } from './names.js';
import { MAX_CHECKPOINT_NOTE_BYTES } from './registry-log.js';
import { parseWith, rawBytes } from './schema.js';
import { TAGS, signValue, unwrapSignedBytes } from './signed.js';
import { padToSizeClass, unpadFromSizeClass } from './size-classes.js';

const bytesOf = (length: number) =>
  rawBytes().refine((b) => b.length === length, `must be ${length} bytes`);

const canonicalName = z.string().max(32).refine(isCanonicalName, 'not a canonical name');

/**
 * The kinds of letter this version understands: `text` (a letter), `follow` and `unfollow` (sent
 * by a follower to an author; empty body) and `post` (sent by an author to each follower).
 */
export const LETTER_KINDS = ['text', 'follow', 'unfollow', 'post', 'reset'] as const;
export type LetterKind = (typeof LETTER_KINDS)[number];

/**
 * Kinds whose body must be the empty string. A `reset` letter starts a new session with a komrade
 * whose letter could not be decrypted (a lost or restored session): it is never shown as a letter.
 */
const EMPTY_BODY_KINDS: ReadonlySet<LetterKind> = new Set<LetterKind>([
  'follow',
  'unfollow',
  'reset',
]);

/** True for the kinds that carry no body (`follow`, `unfollow`, `reset`). */
export function isBodylessKind(kind: LetterKind): boolean {
  return EMPTY_BODY_KINDS.has(kind);
}

const letterSchema = z
  .strictObject({
    v: z.literal(2),
    kind: z.enum(LETTER_KINDS),
    from: canonicalName,
    to: canonicalName,
    sentAt: z.number().int().nonnegative(),
    id: bytesOf(ID_BYTES),
    body: z
      .string()
      .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_LETTER_TEXT_BYTES, 'body too long'),
    /**
     * Gossip: the newest registry checkpoint note the sender verified (Operator-signed), so two
     * komrades who write to each other see whether the Operator shows them one log. Left out when
     * it would not fit the Operator's size limit beside the text.
     */
    checkpoint: z
      .string()
      .min(1)
      .refine(
        (s) => Buffer.byteLength(s, 'utf8') <= MAX_CHECKPOINT_NOTE_BYTES,
        'checkpoint too long',
      )
      .optional(),
  })
  .refine((l) => !isBodylessKind(l.kind) || l.body === '', {
    message: 'follow, unfollow and reset letters have an empty body',
    path: ['body'],
  });

/** A letter's signed content. */
export type Letter = z.output<typeof letterSchema>;

const envelopeSchema = z.strictObject({
  signed: rawBytes(),
  sig: bytesOf(64),
});

/**
 * The two kinds of ratchet message: `prekey` starts a session (PQXDH from the recipient's prekey
 * bundle, libsignal's PreKeySignalMessage); `message` continues one (a SignalMessage).
 */
export const RATCHET_MESSAGE_TYPES = ['prekey', 'message'] as const;
export type RatchetMessageType = (typeof RATCHET_MESSAGE_TYPES)[number];

/** The frame inside a letter's seal (and a collective key envelope's). */
export const ratchetLetterSchema = z.strictObject({
  v: z.literal(2),
  from: canonicalName,
  type: z.enum(RATCHET_MESSAGE_TYPES),
  msg: rawBytes().refine((b) => b.length > 0 && b.length <= MAX_SEALED_LETTER_BYTES, 'msg size'),
  /** The first message of a session that replaced one the sender had (see the ratchet). */
  renewed: z.literal(true).optional(),
});

/**
 * What the seal holds: who claims to send it (so the recipient knows which session opens it;
 * proven only by the signature inside) and the ratchet message.
 */
export type RatchetLetter = z.output<typeof ratchetLetterSchema>;

/** A letter opened but not yet verified: who it *claims* to be from must still be checked. */
export interface OpenedLetter {
  readonly letter: Letter;
  readonly signed: Uint8Array;
  readonly sig: Uint8Array;
}

/** Signs `letter` with the sender's key: the plaintext the ratchet encrypts. */
export function signLetter(letter: Letter, senderSignSecret: Uint8Array): Uint8Array {
  const { bytes, sig } = signValue(TAGS.letter, letter, senderSignSecret);
  return encodeCanonical({ signed: bytes, sig });
}

/**
 * Pads a ratchet message so its sealed length is a size class, and seals it to the recipient's
 * X25519 key.
 * @throws KomradeError `LETTER_TOO_LARGE` when it does not fit the largest size class (a body of
 * at most `MAX_LETTER_TEXT_BYTES` always fits)
 */
export function sealRatchetLetter(
  outer: RatchetLetter,
  recipientBoxPublic: Uint8Array,
): Uint8Array {
  return seal(padToSizeClass(encodeCanonical(outer)), recipientBoxPublic);
}

const malformed = (cause?: unknown) =>
  err(
    new KomradeError(
      'LETTER_INVALID',
      'Letter is malformed.',
      cause === undefined ? undefined : { cause },
    ),
  );

/**
 * Opens a sealed letter and checks its outer shape: the claimed sender and the ratchet message,
 * still to be decrypted in the session with that sender.
 */
export function openRatchetLetter(sealed: Uint8Array, keys: IdentityKeys): Result<RatchetLetter> {
  const plaintext = openSeal(sealed, keys.boxPublic, keys.boxSecret);
  if (plaintext === undefined) {
    return err(
      new KomradeError('LETTER_INVALID', 'Letter could not be decrypted (altered or not for you).'),
    );
  }
  // Padding is checked before anything is decoded; a bad one is just a malformed letter.
  const unpadded = unpadFromSizeClass(plaintext);
  if (unpadded === undefined) return malformed();
  try {
    return parseWith(
      ratchetLetterSchema,
      decodeCanonical(unpadded, 'letter'),
      'LETTER_INVALID',
      'letter',
    );
  } catch (cause) {
    return malformed(cause);
  }
}

/**
 * Decodes the signed letter the ratchet decrypted and checks its shape. Does not check the
 * signature: the caller looks the claimed sender up at the Operator and calls
 * {@link verifyLetter}.
 */
export function openSignedLetter(plaintext: Uint8Array): Result<OpenedLetter> {
  try {
    const envelope = parseWith(
      envelopeSchema,
      decodeCanonical(plaintext, 'letter'),
      'LETTER_INVALID',
      'letter',
    );
    if (!envelope.ok) return envelope;
    const inner = unwrapSignedBytes(envelope.value.signed, TAGS.letter, 'letter');
    const letter = parseWith(letterSchema, inner, 'LETTER_INVALID', 'letter');
    if (!letter.ok) return letter;
    return ok({ letter: letter.value, signed: envelope.value.signed, sig: envelope.value.sig });
  } catch (cause) {
    return malformed(cause);
  }
}

/**
 * Verifies an opened letter against the sender's key **as registered at the Operator** and checks
 * it was addressed to `myName` (and, given, sent by `claimedFrom`: the name beside the ratchet
 * message, whose session opened it).
 */
export function verifyLetter(
  opened: OpenedLetter,
  registeredSignPublic: Uint8Array,
  myName: string,
  claimedFrom?: string,
): Result<Letter> {
  if (!verifyDetached(opened.sig, opened.signed, registeredSignPublic)) {
    return err(
      new KomradeError(
        'LETTER_INVALID',
        `Letter claiming to be from @${opened.letter.from} has a bad signature.`,
      ),
    );
  }
  if (claimedFrom !== undefined && opened.letter.from !== claimedFrom) {
    return err(
      new KomradeError(
        'LETTER_INVALID',
        `Letter signed by @${opened.letter.from} came in @${claimedFrom}'s session.`,
      ),
    );
  }
  if (opened.letter.to !== myName) {
    return err(
      new KomradeError(
        'LETTER_INVALID',
        `Letter was addressed to @${opened.letter.to}, not to you: it was re-addressed.`,
      ),
    );
  }
  return ok(opened.letter);
}
