/** The proof that lets one wait for mail cover a mailbox: its owner's signature, bound to one Operator. */
import { verifyValue, signValue, TAGS } from './signed.js';

/** What a mailbox owner signs to wait on its mailbox at one Operator. */
export interface MailWaitClaim {
  /** The mailbox (the owner's canonical name). */
  readonly name: string;
  /** When it was signed (ms since the epoch); the Operator accepts it within `CLOCK_SKEW_MS`. */
  readonly at: number;
  /** The Operator's public sign key, so a proof made for one Operator is worthless at another. */
  readonly operator: Uint8Array;
}

const value = (claim: MailWaitClaim) => ({
  name: claim.name,
  at: claim.at,
  operator: claim.operator,
});

/**
 * Signs a wait proof. Its own tag means it can serve as nothing else: it changes nothing at the
 * Operator and only asks whether mail waits.
 * @param signSecret - the mailbox owner's Ed25519 secret key
 * @returns the 64-byte signature
 */
export function signMailWait(claim: MailWaitClaim, signSecret: Uint8Array): Uint8Array {
  return signValue(TAGS.mailWait, value(claim), signSecret).sig;
}

/** Checks a wait proof against the mailbox owner's registered public key. */
export function verifyMailWait(
  claim: MailWaitClaim,
  sig: Uint8Array,
  signPublic: Uint8Array,
): boolean {
  return verifyValue(TAGS.mailWait, value(claim), sig, signPublic);
}
