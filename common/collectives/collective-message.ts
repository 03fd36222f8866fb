/**
 * Collective messages: signed by the sender once, sealed once under a fresh content key, and that
 * key sealed to each member. Fan-out to N members costs one signature, one AEAD pass over the body
 * and N sealed boxes of 176 bytes; the Operator stores the body once. The body is padded to a size
 * class (as letters are) and every key envelope to one fixed length, so neither tells the
 * Operator how long the text is or how long the collective's name is.
 */
import { z } from 'zod';
import {
  AEAD_KEY_BYTES,
  AEAD_NONCE_BYTES,
  SEAL_OVERHEAD_BYTES,
  aeadDecrypt,
  aeadEncrypt,
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
  COLLECTIVE_KEY_ENVELOPE_BYTES,
  ID_BYTES,
  MAX_LETTER_TEXT_BYTES,
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
const keyEnvelopeSchema = z.strictObject({
  collective: canonicalName,
  key: bytesOf(AEAD_KEY_BYTES),
});

// Binds the AEAD to this use: a body sealed for anything else never opens as a message.
const BODY_AD = new TextEncoder().encode(TAGS.collectiveMessage);

/** Bytes the body's AEAD adds (its 24-byte nonce and 16-byte tag): the body is a size class. */
export const COLLECTIVE_BODY_OVERHEAD_BYTES = AEAD_NONCE_BYTES + 16;

// A key envelope's plaintext is padded to this, so the sealed envelope is one fixed length.
const KEY_ENVELOPE_PADDED_BYTES = COLLECTIVE_KEY_ENVELOPE_BYTES - SEAL_OVERHEAD_BYTES;

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

/** A message opened but not yet verified against its sender's registered key and membership. */
export interface OpenedCollectiveMessage {
  readonly message: CollectiveMessage;
  readonly signed: Uint8Array;
  readonly sig: Uint8Array;
}

/**
 * Signs `message`, seals it under a fresh content key, and seals that key to every recipient.
 * The caller checks the message's shape (`checkCollectiveMessage`) and picks the recipients from
 * its verified copy of the log.
 * @throws KomradeError `KEY_INVALID` naming the first recipient whose box key cannot be sealed to
 * (malformed or of low order), before anything is handed out
 */
export function sealCollectiveMessage(
  message: CollectiveMessage,
  senderSignSecret: Uint8Array,
  recipients: readonly CollectiveRecipient[],
): SealedCollectiveMessage {
  const { bytes, sig } = signValue(TAGS.collectiveMessage, message, senderSignSecret);
  const padded = padToSizeClass(
    encodeCanonical({ signed: bytes, sig }),
    COLLECTIVE_BODY_OVERHEAD_BYTES,
  );
  const contentKey = randomBytes(AEAD_KEY_BYTES);
  const body = aeadEncrypt(padded, contentKey, BODY_AD);
  const encoded = encodeCanonical([
    TAGS.collectiveKey,
    { collective: message.collective, key: contentKey },
  ]);
  const keyEnvelope = pad(encoded, KEY_ENVELOPE_PADDED_BYTES);
  try {
    if (keyEnvelope.length !== KEY_ENVELOPE_PADDED_BYTES) {
      throw new KomradeError('LETTER_INVALID', 'A collective name is at most 32 characters.');
    }
    const keys = recipients.map((r) => ({ to: r.name, sealed: sealKeyTo(keyEnvelope, r) }));
    return { body, keys };
  } finally {
    contentKey.fill(0);
    encoded.fill(0);
    keyEnvelope.fill(0);
  }
}

/** libsodium refuses a low-order key (the shared secret would be all zeros): say whose it is. */
function sealKeyTo(keyEnvelope: Uint8Array, recipient: CollectiveRecipient): Uint8Array {
  try {
    return seal(keyEnvelope, recipient.boxKey);
  } catch (cause) {
    throw new KomradeError(
      'KEY_INVALID',
      `@${recipient.name}'s box key is not a valid X25519 public key (malformed or of low order).`,
      { cause },
    );
  }
}

/** Checks a draft message's shape before signing it. */
export function checkCollectiveMessage(message: unknown): Result<CollectiveMessage> {
  return parseWith(messageSchema, message, 'LETTER_INVALID', 'collective message');
}

const invalid = (message: string, cause?: unknown) =>
  err(new KomradeError('LETTER_INVALID', message, cause === undefined ? undefined : { cause }));

/**
 * Opens this member's key envelope, then the body with that key, and checks both shapes and that
 * they name the same collective. Does not check the signature or membership: the caller looks the
 * sender up and calls {@link verifyCollectiveMessage}, then checks membership in its verified log.
 */
export function openCollectiveMessage(
  keyEnvelope: Uint8Array,
  body: Uint8Array,
  keys: IdentityKeys,
): Result<OpenedCollectiveMessage> {
  const padded = openSeal(keyEnvelope, keys.boxPublic, keys.boxSecret);
  if (padded === undefined) {
    return invalid('Collective message could not be decrypted (altered or not for you).');
  }
  const opened =
    padded.length === KEY_ENVELOPE_PADDED_BYTES
      ? unpad(padded, KEY_ENVELOPE_PADDED_BYTES)
      : undefined;
  padded.fill(0);
  if (opened === undefined) return invalid('Collective message is malformed.');
  try {
    const envelope = parseWith(
      keyEnvelopeSchema,
      unwrapSignedBytes(opened, TAGS.collectiveKey, 'collective key'),
      'LETTER_INVALID',
      'collective key',
    );
    if (!envelope.ok) return envelope;
    const decrypted = aeadDecrypt(body, envelope.value.key, BODY_AD);
    envelope.value.key.fill(0);
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
    if (message.value.collective !== envelope.value.collective) {
      return invalid('Collective message names another collective than its key: re-targeted.');
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
