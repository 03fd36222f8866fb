/**
 * Domain-separated signatures over canonical bytes: a signed message is always
 * `cbor([tag, value])`, so a signature made for one message type can never pass as another.
 */
import { signDetached, verifyDetached } from '../crypto/index.js';
import { KomradeError } from '../errors/index.js';
import { decodeCanonical, encodeCanonical } from './canonical.js';

/** Every domain-separation tag in the protocol; the suffix is the message version. */
export const TAGS = Object.freeze({
  request: 'komrade/request/v1',
  register: 'komrade/register/v1',
  receipt: 'komrade/receipt/v1',
  pow: 'komrade/pow/v1',
  letter: 'komrade/letter/v2',
  post: 'komrade/post/v1',
  keystore: 'komrade/keystore/v1',
  collective: 'komrade/collective/v1',
  collectiveMessage: 'komrade/collective-message/v1',
  collectiveKey: 'komrade/collective-key/v1',
  collectivePow: 'komrade/collective-pow/v1',
  mailWait: 'komrade/mail-wait/v1',
  session: 'komrade/session/v1',
  sessionRequest: 'komrade/session-request/v1',
});

export type Tag = (typeof TAGS)[keyof typeof TAGS];

/** The exact bytes that get signed for `value` under `tag`. */
export function signedBytes(tag: Tag, value: unknown): Uint8Array {
  return encodeCanonical([tag, value]);
}

/** Signs `value` under `tag`; returns the signed bytes and the signature. */
export function signValue(
  tag: Tag,
  value: unknown,
  signSecret: Uint8Array,
): { bytes: Uint8Array; sig: Uint8Array } {
  const bytes = signedBytes(tag, value);
  return { bytes, sig: signDetached(bytes, signSecret) };
}

/** Verifies a signature over `cbor([tag, value])`. */
export function verifyValue(
  tag: Tag,
  value: unknown,
  sig: Uint8Array,
  signPublic: Uint8Array,
): boolean {
  return verifyDetached(sig, signedBytes(tag, value), signPublic);
}

/**
 * Decodes signed bytes strictly and checks their tag; returns the inner value, still unvalidated.
 * Throws `DECODE_FAILED` for anything else.
 */
export function unwrapSignedBytes(bytes: Uint8Array, tag: Tag, what: string): unknown {
  const decoded = decodeCanonical(bytes, what);
  if (!Array.isArray(decoded) || decoded.length !== 2 || decoded[0] !== tag) {
    throw new KomradeError('DECODE_FAILED', `${what} has the wrong type tag`);
  }
  return decoded[1];
}
