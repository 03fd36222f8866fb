/**
 * `TokenWallet`: an identity's anonymous tokens, kept in its local store, obtained in blinded
 * batches through signed requests, each checked against the Operator's pinned token key, and spent
 * one per letter on anonymous sends.
 */
import {
  blake2b,
  blind,
  checkOprfPublicKey,
  finalize,
  randomBytes,
} from '../../common/crypto/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import {
  MAX_TOKEN_BATCH,
  TOKEN_INPUT_BYTES,
  acceptedTokenEpochs,
  bytesEqual,
  encodeCanonical,
  tokenEpochInfo,
  tokenEpochOf,
  type OperatorInfo,
  type Token,
} from '../../common/wire/index.js';
import type { LocalStore, StoredToken } from '../local-store/local-store.js';
import type { OperatorClient, RequestSigner } from '../operator-client/operator-client.js';

/** Tokens asked for in one batch (fewer when the allowance left is smaller). */
export const TOKEN_REFILL_BATCH = 50;
/**
 * Below this many tokens a top-up refills ahead of time (see {@link TokenWallet.topUp}), so most
 * sends find a token waiting and the Operator sees issuance at fetch time, not before a send.
 */
export const TOKEN_LOW_WATER = 10;

/** What {@link TokenWallet} needs. */
export interface TokenWalletDeps {
  readonly operator: OperatorClient;
  readonly store: LocalStore;
  /** The identity's signer (issuance is signed: the allowance is per komrade). */
  readonly signer: () => RequestSigner;
  /** The Operator's info, its sign keys already pinned. */
  readonly operatorInfo: () => Promise<OperatorInfo>;
  readonly now: () => number;
  /** @defaultValue common/crypto `randomBytes` */
  readonly random?: (length: number) => Uint8Array;
  /** @defaultValue {@link TOKEN_REFILL_BATCH} */
  readonly batch?: number;
}

/** The key a token is reserved under for one letter: a hash of its recipient and sealed bytes. */
export function letterKey(to: string, sealed: Uint8Array): Uint8Array {
  return blake2b(encodeCanonical(['komrade/token-reservation/v1', to, sealed]), 32);
}

/**
 * An identity's tokens. Tokens of epochs the Operator no longer accepts are deleted on every use.
 * Refills go one at a time per wallet.
 *
 * @example
 * ```ts
 * const wallet = new TokenWallet({ operator, store, signer, operatorInfo, now: Date.now });
 * const { id, token } = await wallet.take(letterKey(to, sealed));
 * ```
 */
export class TokenWallet {
  readonly #deps: TokenWalletDeps;
  readonly #random: (length: number) => Uint8Array;
  #refilling: Promise<number> | undefined;

  constructor(deps: TokenWalletDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? randomBytes;
  }

  #accepted(): readonly number[] {
    const epochs = acceptedTokenEpochs(this.#deps.now()).filter((e) => e >= 0);
    this.#deps.store.pruneTokens(epochs);
    return epochs;
  }

  /** Unreserved tokens of accepted epochs. */
  count(): number {
    return this.#deps.store.tokenCount(this.#accepted());
  }

  /**
   * A token to pay for the letter `key` names (see {@link letterKey}): the one reserved for it
   * before (a retry), else a fresh one, refilling first when none is left.
   * @throws `TOKEN_PROOF_INVALID` when the Operator announces a token key other than the pinned
   * one; what {@link TokenWallet.refill} throws (`TOKENS_EXHAUSTED` with the Operator's message,
   * `OPERATOR_UNREACHABLE`…)
   */
  async take(key: Uint8Array): Promise<StoredToken> {
    // An Operator announcing another key than the pinned one gets no token at all, held or new.
    this.#tokenKey(await this.#deps.operatorInfo());
    const found = this.#deps.store.reserveToken(key, this.#accepted());
    if (found !== undefined) return found;
    await this.refill();
    const after = this.#deps.store.reserveToken(key, this.#accepted());
    if (after === undefined) {
      // Another process took the whole batch meanwhile: rare; the caller may try again.
      throw new KomradeError('TOKENS_EXHAUSTED', 'No token is left for this letter; try again.');
    }
    return after;
  }

  /** The token paid for its letter (or the Operator refused the token itself): it goes. */
  spent(token: StoredToken): void {
    this.#deps.store.deleteToken(token.id);
  }

  /** The Operator refused the letter, not the token: it is free for another letter. */
  release(token: StoredToken): void {
    this.#deps.store.releaseToken(token.id);
  }

  /**
   * Refills ahead of time when fewer than {@link TOKEN_LOW_WATER} tokens are left; called with
   * other signed requests (a fetch), so issuance times say little about send times.
   * @returns how many tokens were added (0 when enough were there)
   */
  async topUp(): Promise<number> {
    if (this.count() >= TOKEN_LOW_WATER) return 0;
    return this.refill();
  }

  /**
   * Obtains one batch: blinds fresh random inputs, asks the Operator to evaluate them (signed),
   * checks its proof against the pinned token key (pinned on first use), and stores the tokens.
   * One refill at a time: a second call joins the one under way.
   * @returns how many tokens were added
   * @throws `TOKEN_PROOF_INVALID` when the Operator announces another token key than the pinned
   * one, or its answer does not verify against it (nothing is stored); `TOKENS_EXHAUSTED` as the
   * Operator says it (when more come)
   */
  refill(): Promise<number> {
    this.#refilling ??= this.#refill().finally(() => {
      this.#refilling = undefined;
    });
    return this.#refilling;
  }

  async #refill(): Promise<number> {
    const info = await this.#deps.operatorInfo();
    const tokenKey = this.#tokenKey(info);
    const epoch = tokenEpochOf(this.#deps.now());
    const left = this.#deps.store.tokensLeft(epoch);
    const size = Math.max(
      1,
      Math.min(this.#deps.batch ?? TOKEN_REFILL_BATCH, MAX_TOKEN_BATCH, left ?? info.tokensPerDay),
    );
    try {
      return await this.#issue(tokenKey, epoch, size);
    } catch (error) {
      // A partial batch is refused whole: when we did not know what is left, one token may be.
      if (size > 1 && left === undefined && isKomradeError(error, 'TOKENS_EXHAUSTED')) {
        return this.#issue(tokenKey, epoch, 1);
      }
      throw error;
    }
  }

  async #issue(tokenKey: Uint8Array, epoch: number, size: number): Promise<number> {
    const inputs = Array.from({ length: size }, () => this.#random(TOKEN_INPUT_BYTES));
    const batch = blind('POPRF', inputs);
    const answer = await this.#deps.operator.issueTokens(
      this.#deps.signer(),
      batch.blindedElements,
      epoch,
    );
    if (answer.epoch !== epoch) {
      throw new KomradeError(
        'TOKEN_PROOF_INVALID',
        `The Operator answered tokens of epoch ${answer.epoch} to a request for epoch ${epoch}.`,
      );
    }
    // Throws TOKEN_PROOF_INVALID unless every element was evaluated under the pinned key.
    const outputs = finalize({ mode: 'POPRF', info: tokenEpochInfo(epoch) }, tokenKey, batch, {
      evaluatedElements: answer.evaluated,
      proof: answer.proof,
    });
    const tokens: Token[] = outputs.map((output, i) => ({
      epoch,
      input: inputs[i] as Uint8Array,
      output,
    }));
    this.#deps.store.saveTokens(tokens);
    this.#deps.store.setTokensLeft(epoch, answer.left);
    return tokens.length;
  }

  /**
   * The pinned token key, pinned now when none was: the key the Operator announces must be it.
   * @throws `TOKEN_PROOF_INVALID` for another key (tokens under it could tag this komrade),
   * `KEY_INVALID` for a malformed one
   */
  #tokenKey(info: OperatorInfo): Uint8Array {
    const announced = checkOprfPublicKey(info.tokenKey);
    const pinned = this.#deps.store.pinnedTokenKey();
    if (pinned === undefined) {
      this.#deps.store.pinTokenKey(announced);
      return announced;
    }
    if (!bytesEqual(pinned, announced)) {
      throw new KomradeError(
        'TOKEN_PROOF_INVALID',
        'The Operator announces a token key other than the one pinned when you first connected: tokens under it could tell the Operator who spends them, so none were taken. Nothing was sent.',
      );
    }
    return pinned;
  }
}
