/**
 * Collective messages: signed by the sender once, sealed once under a fresh content key, and that
 * key sent to each member through the sender's pairwise ratchet session with them (libsignal), so
 * each member's copy has forward secrecy and post-compromise security, and a member who left gets
 * no envelope and can open nobody else's. The Operator stores the body once and one key envelope
 * per member. The body is padded to a size class (as letters are) and every key envelope to one
 * of two fixed lengths (see {@link sealKeyEnvelope}), so neither tells the Operator how long the
 * text is or how long the collective's name is.
 */
import { z } from 'zod';
import {
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  SEAL_OVERHEAD_BYTES,
  aeadDecrypt,
  aeadEncrypt,
  generateIdentityKeys,
  openSeal,
  pad,
  randomBytes,
  seal,
  unpad,
  verifyDetached,
  type IdentityKeys,
} from '../crypto/index.js';
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import {
  COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
  COLLECTIVE_KEY_ENVELOPE_BYTES,
  ID_BYTES,
  MAX_LETTER_TEXT_BYTES,
  ratchetLetterSchema,
  TAGS,
  decodeCanonical,
  encodeCanonical,
  isCanonicalName,
  padToSizeClass,
  parseWith,
  rawBytes,
  signValue,
  unpadFromSizeClass,
  unwrapSignedBytes,
  type RatchetMessageType,
} from '../wire/index.js';

const bytesOf = (length: number) =>
  rawBytes().refine((b) => b.length === length, `must be ${length} bytes`);
const canonicalName = z.string().max(32).refine(isCanonicalName, 'not a canonical name');

const messageSchema = z.strictObject({
  v: z.literal(1),
  collective: canonicalName,
  from: canonicalName,
  sentAt: z.number().int().nonnegative(),
  id: bytesOf(ID_BYTES),
  text: z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_LETTER_TEXT_BYTES, 'text too long'),
});

/** What a member signs: the collective is inside the signature, so it cannot be re-targeted. */
export type CollectiveMessage = z.output<typeof messageSchema>;

const envelopeSchema = z.strictObject({ signed: rawBytes(), sig: bytesOf(64) });
const contentKeySchema = z.strictObject({
  collective: canonicalName,
  key: bytesOf(AEAD_KEY_BYTES),
});

// Binds the AEAD to this use: a body sealed for anything else never opens as a message.
const BODY_AD = new TextEncoder().encode(TAGS.collectiveMessage);

/** Bytes the body's AEAD adds (its 24-byte nonce and 16-byte tag): the body is a size class. */
export const COLLECTIVE_BODY_OVERHEAD_BYTES = AEAD_NONCE_BYTES + 16;

/**
 * What one member's key envelope holds, as a letter v2 does: the sender's name (so the member
 * knows which session opens it) and the ratchet message whose plaintext is the content key.
 */
// The same frame as a letter's: the envelope's fixed length bounds the ratchet message.
const keyEnvelopeSchema = ratchetLetterSchema;
export interface CollectiveKeyEnvelope {
  readonly v: 2;
  /** Who claims to send it: proven only by the session that opens it and the signature. */
  readonly from: string;
  readonly type: RatchetMessageType;
  readonly msg: Uint8Array;
  /** The first message of a session that replaced one the sender had (see the ratchet). */
  readonly renewed?: true;
}

/** A recipient: a member's name and registered X25519 key. */
export interface CollectiveRecipient {
  readonly name: string;
  readonly boxKey: Uint8Array;
}

/** What the sender hands the Operator: the body once, and one key envelope per member. */
export interface SealedCollectiveMessage {
  readonly body: Uint8Array;
  readonly keys: readonly { readonly to: string; readonly sealed: Uint8Array }[];
}

/**
 * A message signed and its body sealed once. `contentKey` is what the ratchet encrypts for each
 * member (the canonical `{collective, key}`): a secret, for the caller to wipe once sent through.
 */
export interface SealedCollectiveBody {
  readonly body: Uint8Array;
  readonly contentKey: Uint8Array;
}

/** A message opened but not yet verified against its sender's registered key and membership. */
export interface OpenedCollectiveMessage {
  readonly message: CollectiveMessage;
  readonly signed: Uint8Array;
  readonly sig: Uint8Array;
}

/**
 * Signs `message` and seals it under a fresh content key; the caller sends that key to each
 * member through their ratchet session and seals it with {@link sealKeyEnvelope}. The caller
 * checks the message's shape (`checkCollectiveMessage`) first.
 */
export function sealCollectiveBody(
  message: CollectiveMessage,
  senderSignSecret: Uint8Array,
): SealedCollectiveBody {
  const { bytes, sig } = signValue(TAGS.collectiveMessage, message, senderSignSecret);
  const padded = padToSizeClass(
    encodeCanonical({ signed: bytes, sig }),
    COLLECTIVE_BODY_OVERHEAD_BYTES,
  );
  const key = randomBytes(AEAD_KEY_BYTES);
  try {
    const body = aeadEncrypt(padded, key, BODY_AD);
    const contentKey = encodeCanonical([
      TAGS.collectiveKey,
      { collective: message.collective, key },
    ]);
    return { body, contentKey };
  } finally {
    key.fill(0);
  }
}

/**
 * The two lengths a key envelope has, by the ratchet message it carries. A continuing session's
 * envelope is small; a first message (PQXDH: base and identity keys, prekey ids, a 1,568-byte
 * Kyber ciphertext) is padded to the larger length. The two lengths tell the Operator which
 * members the sender has no answered session with yet (a new member, a lost session, someone
 * who never wrote back): no text, name or content, but that much of the social graph.
 */
export function keyEnvelopeBytes(type: RatchetMessageType): number {
  return type === 'prekey' ? COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES : COLLECTIVE_KEY_ENVELOPE_BYTES;
}

/**
 * Seals one member's key envelope: `seal(pad(canonical({v:2, from, type, msg, renewed?})))` to
 * their box key, padded to its fixed length (see {@link keyEnvelopeBytes}). The seal hides the
 * ratchet header (and the sender) from the Operator.
 * @throws KomradeError `KEY_INVALID` for a box key nothing can be sealed to (malformed or of low
 * order), `LETTER_TOO_LARGE` for a ratchet message over the length (never, with libsignal's)
 */
export function sealKeyEnvelope(
  envelope: CollectiveKeyEnvelope,
  recipient: CollectiveRecipient,
): Uint8Array {
  const paddedBytes = keyEnvelopeBytes(envelope.type) - SEAL_OVERHEAD_BYTES;
  const padded = pad(encodeCanonical(envelope), paddedBytes);
  if (padded.length !== paddedBytes) {
    throw new KomradeError(
      'LETTER_TOO_LARGE',
      `A ${envelope.type} key envelope for @${recipient.name} does not fit its fixed length.`,
    );
  }
  try {
    return seal(padded, recipient.boxKey);
  } catch (cause) {
    throw new KomradeError(
      'KEY_INVALID',
      `@${recipient.name}'s box key is not a valid X25519 public key (malformed or of low order).`,
      { cause },
    );
  } finally {
    padded.fill(0);
  }
}

/**
 * A key envelope nobody can open, of a first message's length (the member has no usable
 * session): for a member whose keys nothing can be sent to, since the Operator takes a message
 * only with an envelope for every current member.
 */
export function decoyKeyEnvelope(): Uint8Array {
  const keys = generateIdentityKeys();
  keys.signSecret.fill(0);
  keys.boxSecret.fill(0);
  return seal(
    randomBytes(COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES - SEAL_OVERHEAD_BYTES),
    keys.boxPublic,
  );
}

/** Checks a draft message's shape before signing it. */
export function checkCollectiveMessage(message: unknown): Result<CollectiveMessage> {
  return parseWith(messageSchema, message, 'LETTER_INVALID', 'collective message');
}

const invalid = (message: string, cause?: unknown) =>
  err(new KomradeError('LETTER_INVALID', message, cause === undefined ? undefined : { cause }));

/**
 * Opens this member's key envelope's seal and checks its length and shape: the sender it names
 * and the ratchet message, still to be decrypted in the session with that sender.
 */
export function openKeyEnvelope(
  sealed: Uint8Array,
  keys: IdentityKeys,
): Result<CollectiveKeyEnvelope> {
  const lengths = [COLLECTIVE_KEY_ENVELOPE_BYTES, COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES];
  if (!lengths.includes(sealed.length)) return invalid('Collective key envelope is malformed.');
  const padded = openSeal(sealed, keys.boxPublic, keys.boxSecret);
  if (padded === undefined) {
    return invalid('Collective message could not be decrypted (altered or not for you).');
  }
  const opened = unpad(padded, padded.length);
  if (opened === undefined) return invalid('Collective key envelope is malformed.');
  try {
    const envelope = parseWith(
      keyEnvelopeSchema,
      decodeCanonical(opened, 'collective key envelope'),
      'LETTER_INVALID',
      'collective key envelope',
    );
    if (!envelope.ok) return envelope;
    const { from, type, msg, renewed } = envelope.value;
    // A first message in the small length, or a continuing one padded out: not ours.
    if (keyEnvelopeBytes(type) !== sealed.length) {
      return invalid('Collective key envelope has the wrong length for its message.');
    }
    return ok({ v: 2, from, type, msg, ...(renewed === true ? { renewed } : {}) });
  } catch (cause) {
    return invalid('Collective key envelope is malformed.', cause);
  }
}

/**
 * Opens the body with the content key the ratchet decrypted (in the session with `from`), and
 * checks both shapes, that they name the same collective, and that the message is signed as
 * from `from` (a member cannot pass on another's message as if its sender sent it to us). Does
 * not check the signature or membership: the caller calls {@link verifyCollectiveMessage} with
 * the sender's registered key, then checks membership in its verified log.
 */
export function openCollectiveBody(
  contentKey: Uint8Array,
  body: Uint8Array,
  from: string,
): Result<OpenedCollectiveMessage> {
  try {
    const key = parseWith(
      contentKeySchema,
      unwrapSignedBytes(contentKey, TAGS.collectiveKey, 'collective key'),
      'LETTER_INVALID',
      'collective key',
    );
    if (!key.ok) return key;
    const decrypted = aeadDecrypt(body, key.value.key, BODY_AD);
    key.value.key.fill(0);
    if (decrypted === undefined) {
      return invalid('Collective message body does not match its key (altered).');
    }
    const plaintext = unpadFromSizeClass(decrypted, COLLECTIVE_BODY_OVERHEAD_BYTES);
    if (plaintext === undefined) return invalid('Collective message is malformed.');
    const outer = parseWith(
      envelopeSchema,
      decodeCanonical(plaintext, 'collective message'),
      'LETTER_INVALID',
      'collective message',
    );
    if (!outer.ok) return outer;
    const inner = unwrapSignedBytes(
      outer.value.signed,
      TAGS.collectiveMessage,
      'collective message',
    );
    const message = checkCollectiveMessage(inner);
    if (!message.ok) return message;
    if (message.value.collective !== key.value.collective) {
      return invalid('Collective message names another collective than its key: re-targeted.');
    }
    if (message.value.from !== from) {
      return invalid(
        `Collective message signed by @${message.value.from} came in @${from}'s session.`,
      );
    }
    return ok({ message: message.value, signed: outer.value.signed, sig: outer.value.sig });
  } catch (cause) {
    return invalid('Collective message is malformed.', cause);
  }
}

/** Verifies an opened message against its sender's key **as registered at the Operator**. */
export function verifyCollectiveMessage(
  opened: OpenedCollectiveMessage,
  registeredSignPublic: Uint8Array,
): Result<CollectiveMessage> {
  if (!verifyDetached(opened.sig, opened.signed, registeredSignPublic)) {
    return invalid(
      `Collective message claiming to be from @${opened.message.from} has a bad signature.`,
    );
  }
  return ok(opened.message);
}
