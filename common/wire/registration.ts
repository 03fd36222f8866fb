/** Registration: proof of possession of the signing key, and the Operator's signed receipt. */
import { signDetached, verifyDetached, type PublicKeys } from '../crypto/index.js';
import { KomradeError } from '../errors/index.js';
import type { LogProof } from './registry-log.js';
import { TAGS, signedBytes } from './signed.js';

/**
 * Who holds an identity's secret keys: a label, signed in the claim and in the Operator's receipt.
 * `self` is the komrade's own device (e.g. the CLI); any other label names the kind of chat
 * surface whose host holds the keys for its users (`telegram`, `discord`, a new one such as
 * `matrix`). Open, so a new surface needs no protocol change; of a fixed shape, so it is safe to
 * store, show and compare: a lowercase ASCII letter, then 1 to 23 of `a-z`, `0-9` and `-`.
 */
export type KeyHolder = string;

/** A key holder that is a chat surface's host (any label but `self`). */
export type AdapterKeyHolder = KeyHolder;

/** The label of the komrade's own device. */
export const OWN_DEVICE: KeyHolder = 'self';

/** The shape every key-holder label has. */
export const KEY_HOLDER_PATTERN = /^[a-z][a-z0-9-]{1,23}$/;

/**
 * The labels in use when labels were opened (registered names carry them): the defaults of a
 * constitution's `allowedKeyHolders`, and what the CLI suggests. Not a limit.
 */
export const KEY_HOLDERS: readonly KeyHolder[] = Object.freeze(['self', 'telegram', 'discord']);

/** Whether `value` is a well-formed key-holder label (see {@link KEY_HOLDER_PATTERN}). */
export function isKeyHolder(value: unknown): value is KeyHolder {
  return typeof value === 'string' && KEY_HOLDER_PATTERN.test(value);
}

/** Whether `value` is a well-formed label of a chat surface (any label but {@link OWN_DEVICE}). */
export function isAdapterKeyHolder(value: unknown): value is AdapterKeyHolder {
  return isKeyHolder(value) && value !== OWN_DEVICE;
}

/** Refuses a malformed label before anything is signed with it. */
function checkKeyHolder(keyHolder: unknown): void {
  if (!isKeyHolder(keyHolder)) {
    throw new KomradeError(
      'USAGE',
      'A key-holder label is a lowercase letter, then 1 to 23 of a-z, 0-9 and "-".',
    );
  }
}

/** Bytes of a ratchet key: libsignal's Curve25519 public key serialization (type byte, 32). */
export const RATCHET_KEY_BYTES = 33;
/** The first byte of libsignal's Curve25519 public key serialization (`DJB_TYPE`). */
export const CURVE25519_KEY_TYPE = 0x05;

/** Whether `key` has the shape of a libsignal Curve25519 public key (33 bytes, 0x05 first). */
export function isRatchetKey(key: unknown): key is Uint8Array {
  return (
    key instanceof Uint8Array && key.length === RATCHET_KEY_BYTES && key[0] === CURVE25519_KEY_TYPE
  );
}

/**
 * What a komrade registers: a name, its public keys, and who holds the secret keys. All of it is
 * signed by the registrant and countersigned in the Operator's receipt.
 */
export interface RegistrationClaim {
  readonly name: string;
  readonly signKey: Uint8Array;
  readonly boxKey: Uint8Array;
  readonly keyHolder: KeyHolder;
  /**
   * The public ratchet identity key (libsignal serialization, see {@link isRatchetKey}). `null`
   * only for names registered before forward secrecy; they add one with a signed update.
   */
  readonly ratchetKey: Uint8Array | null;
}

/** The Operator's record of a name, as it signs it. */
export interface Receipt extends RegistrationClaim {
  readonly registeredAt: number;
  readonly sig: Uint8Array;
  /**
   * Where the receipt sits in the registry's transparency log, as the Operator answered it; not
   * part of what is signed. Present on every answer of a v2 Operator; checked by the client.
   */
  readonly proof?: LogProof | undefined;
}

/**
 * The signed value of a claim. `ratchetKey` is in it only when present, so every proof and receipt
 * signed before ratchet keys existed still verifies byte for byte.
 */
const claimValue = (claim: RegistrationClaim) => {
  checkKeyHolder(claim.keyHolder);
  if (claim.ratchetKey !== null && !isRatchetKey(claim.ratchetKey)) {
    throw new KomradeError('KEY_INVALID', 'A ratchet key is 33 bytes, the first 0x05.');
  }
  return {
    name: claim.name,
    signKey: claim.signKey,
    boxKey: claim.boxKey,
    keyHolder: claim.keyHolder,
    ...(claim.ratchetKey === null ? {} : { ratchetKey: claim.ratchetKey }),
  };
};

/** Whether a claim (or receipt) is well formed enough to be checked at all. */
const checkable = (claim: RegistrationClaim): boolean =>
  isKeyHolder(claim.keyHolder) && (claim.ratchetKey === null || isRatchetKey(claim.ratchetKey));

/** The claim as data for proof of work (see pow.ts). */
export function claimBytesForPow(claim: RegistrationClaim): Uint8Array {
  return signedBytes(TAGS.pow, claimValue(claim));
}

/** Proof of possession: the new signing key signs the claim, which includes the box key. */
export function proveClaim(claim: RegistrationClaim, signSecret: Uint8Array): Uint8Array {
  return signDetached(signedBytes(TAGS.register, claimValue(claim)), signSecret);
}

/** Checks a proof of possession against the claimed signing key. */
export function verifyClaimProof(claim: RegistrationClaim, pop: Uint8Array): boolean {
  if (!checkable(claim)) return false;
  return verifyDetached(pop, signedBytes(TAGS.register, claimValue(claim)), claim.signKey);
}

const receiptValue = (receipt: Omit<Receipt, 'sig'>) => ({
  ...claimValue(receipt),
  registeredAt: receipt.registeredAt,
});

/** The Operator signs a receipt for a registration. */
export function signReceipt(record: Omit<Receipt, 'sig'>, operatorSignSecret: Uint8Array): Receipt {
  return {
    ...record,
    sig: signDetached(signedBytes(TAGS.receipt, receiptValue(record)), operatorSignSecret),
  };
}

/** Checks a receipt against the Operator key the client pinned. */
export function verifyReceipt(receipt: Receipt, operatorSignPublic: Uint8Array): boolean {
  // A receipt with a malformed label or key is refused even if signed: it would be stored and used.
  if (!checkable(receipt)) return false;
  return verifyDetached(
    receipt.sig,
    signedBytes(TAGS.receipt, receiptValue(receipt)),
    operatorSignPublic,
  );
}

/** The registered public keys a receipt vouches for. */
export function keysOfReceipt(receipt: Receipt): PublicKeys {
  return { sign: receipt.signKey, box: receipt.boxKey };
}
