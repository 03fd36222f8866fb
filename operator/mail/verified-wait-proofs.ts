/**
 * Wait proofs the Operator has already checked. A bot re-waits with the same proofs after every
 * wake-up (up to 1,000 mailboxes a request); remembering which it verified turns each re-wait
 * into lookups instead of a thousand signature checks. Bounded, and each entry is dropped once
 * its proof is too old to pass the clock check anyway.
 */

/** At most this many proofs are remembered (about 200 bytes each). */
export const MAX_VERIFIED_WAIT_PROOFS = 20_000;

/** A bounded set of verified proofs, keyed by the exact bytes that were verified. */
export class VerifiedWaitProofs {
  readonly #max: number;
  /** Insertion order is expiry order for proofs signed at about the same time: oldest first. */
  readonly #entries = new Map<string, number>();

  constructor(max = MAX_VERIFIED_WAIT_PROOFS) {
    this.#max = max;
  }

  /** How many proofs are remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether this exact proof (name, time, signature, and the owner's registered key it was checked
   * against) verified before and has not expired.
   */
  has(key: string, now: number): boolean {
    const expires = this.#entries.get(key);
    if (expires === undefined) return false;
    if (expires < now) {
      this.#entries.delete(key);
      return false;
    }
    return true;
  }

  /** Remembers a proof that verified, until `expires`. */
  add(key: string, expires: number, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, expires);
    for (const [oldest, at] of this.#entries) {
      if (this.#entries.size <= this.#max && at >= now) break;
      this.#entries.delete(oldest);
    }
  }

  /** The key of one proof: every byte the signature check depended on. */
  static keyOf(name: string, at: number, sig: Uint8Array, signKey: Uint8Array): string {
    return `${name}.${at}.${Buffer.from(sig).toString('base64')}.${Buffer.from(signKey).toString('base64')}`;
  }
}
