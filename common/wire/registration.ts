/** Registration: proof of possession of the signing key, and the Operator's signed receipt. */
import { signDetached, verifyDetached, type PublicKeys } from '../crypto/index.js';
import { TAGS, signedBytes } from './signed.js';

/**
 * Who holds an identity's secret keys: `self` (the komrade's own device, e.g. the CLI) or the kind
 * of adapter that holds them for its users. Closed on purpose: peers decide trust on it.
 */
export const KEY_HOLDERS = Object.freeze(['self', 'telegram', 'discord'] as const);

/** One of {@link KEY_HOLDERS}. */
export type KeyHolder = (typeof KEY_HOLDERS)[number];

/** The key holders that are adapters (an adapter's host can read what its identities write). */
export type AdapterKeyHolder = Exclude<KeyHolder, 'self'>;

/** Whether `value` is one of {@link KEY_HOLDERS}. */
export function isKeyHolder(value: unknown): value is KeyHolder {
  return typeof value === 'string' && (KEY_HOLDERS as readonly string[]).includes(value);
}

/**
 * What a komrade registers: a name, two public keys, and who holds the secret keys. All of it is
 * signed by the registrant and countersigned in the Operator's receipt.
 */
export interface RegistrationClaim {
  readonly name: string;
  readonly signKey: Uint8Array;
  readonly boxKey: Uint8Array;
  readonly keyHolder: KeyHolder;
}

/** The Operator's record of a name, as it signs it. */
export interface Receipt extends RegistrationClaim {
  readonly registeredAt: number;
  readonly sig: Uint8Array;
}

const claimValue = (claim: RegistrationClaim) => ({
  name: claim.name,
  signKey: claim.signKey,
  boxKey: claim.boxKey,
  keyHolder: claim.keyHolder,
});

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
