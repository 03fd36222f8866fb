/** Checking a token at spend time: its epoch, then its POPRF output, in constant time. */
import { timingSafeEqual } from 'node:crypto';
import { blake2b, evaluator, type OprfKeyPair } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { acceptedTokenEpochs, tokenEpochInfo, type Token } from '../../common/wire/index.js';

/** Separates the spent set's key from any other hash of the same 32 bytes. */
const SPENT_TAG = new TextEncoder().encode('komrade spent token v1');

/** The spent set's key for a token input (the input itself is never stored). */
export function spentTokenHash(input: Uint8Array): Uint8Array {
  const tagged = new Uint8Array(SPENT_TAG.length + input.length);
  tagged.set(SPENT_TAG);
  tagged.set(input, SPENT_TAG.length);
  return blake2b(tagged, 32);
}

/**
 * Checks spent tokens against the Operator's token key. The per-epoch part of the evaluation
 * (the key tweaked by the epoch, inverted) is computed once per epoch and kept while the epoch
 * is accepted, so a check costs one hash to the group, one scalar multiplication and one hash.
 *
 * @example
 * ```ts
 * const tokens = new TokenVerifier(keys.token);
 * const inputHash = tokens.check(token, Date.now());
 * ```
 */
export class TokenVerifier {
  readonly #key: OprfKeyPair;
  readonly #byEpoch = new Map<number, (input: Uint8Array) => Uint8Array>();

  constructor(key: OprfKeyPair) {
    this.#key = key;
  }

  /**
   * Refuses a token the Operator did not issue, or one of an epoch it no longer (or not yet)
   * accepts. The output is recomputed from the input and compared in constant time: a forged
   * output, the output of another input, or one under another key all fail alike.
   *
   * @param token - as received (lengths already checked by the wire schema)
   * @param now - the request's time
   * @returns the hash the spent set records for the token
   * @throws KomradeError `TOKEN_INVALID`
   */
  check(token: Token, now: number): Uint8Array {
    const accepted = acceptedTokenEpochs(now);
    if (!accepted.includes(token.epoch)) {
      throw new KomradeError(
        'TOKEN_INVALID',
        `This token is of epoch ${token.epoch}; the Operator accepts tokens of epochs ${accepted.join(' and ')} now (epochs are UTC days). Take a fresh token.`,
      );
    }
    const expected = this.#evaluatorFor(token.epoch, accepted)(token.input);
    if (expected.length !== token.output.length || !timingSafeEqual(expected, token.output)) {
      throw new KomradeError('TOKEN_INVALID', 'This token was not issued by this Operator.');
    }
    return spentTokenHash(token.input);
  }

  #evaluatorFor(epoch: number, accepted: readonly number[]) {
    let evaluate = this.#byEpoch.get(epoch);
    if (evaluate === undefined) {
      // Epochs no longer accepted go: at most the accepted ones are ever held.
      for (const held of this.#byEpoch.keys()) {
        if (!accepted.includes(held)) this.#byEpoch.delete(held);
      }
      evaluate = evaluator({ mode: 'POPRF', info: tokenEpochInfo(epoch) }, this.#key.secretKey);
      this.#byEpoch.set(epoch, evaluate);
    }
    return evaluate;
  }
}
