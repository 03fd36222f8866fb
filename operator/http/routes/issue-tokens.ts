/** POST /v2/tokens/issue: a registered komrade's blinded token inputs, evaluated with a proof. */
import { blindEvaluate, type OprfEvaluation } from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import {
  TOKEN_ROUTES,
  tokenEpochInfo,
  tokenEpochOf,
  tokenIssueRequestSchema,
  toBase64url,
} from '../../../common/wire/index.js';
import type { OperatorKeys } from '../../keys/load-operator-keys.js';
import type { TokenLedger } from '../../store/token-ledger.js';
import { nextEpochText } from '../../tokens/token-epoch-text.js';
import { parseBody, type SignedRoute } from '../route.js';

/** What {@link issueTokens} needs. */
export interface IssueTokensDeps {
  readonly keys: Pick<OperatorKeys, 'token'>;
  readonly store: Pick<TokenLedger, 'tokensIssued' | 'recordIssued'>;
  /** Tokens one komrade may obtain per epoch. */
  readonly perDay: number;
}

/** A granted batch: the evaluation and its proof, and how many tokens are left this epoch. */
export interface IssuedTokens extends OprfEvaluation {
  readonly epoch: number;
  readonly left: number;
}

function exhausted(perDay: number, issued: number, asked: number, epoch: number, now: number) {
  const left = Math.max(0, perDay - issued);
  const next = nextEpochText(epoch, now);
  return new KomradeError(
    'TOKENS_EXHAUSTED',
    left === 0
      ? `No tokens left today (each komrade gets ${perDay} a day); more come ${next}.`
      : `Only ${left} of the ${asked} tokens asked for are left today (each komrade gets ${perDay} a day): ask for at most ${left}, or wait for more, which come ${next}.`,
  );
}

/**
 * Evaluates a batch of blinded token inputs for `name`, under the current epoch, if the batch
 * fits what is left of the komrade's allowance (granted whole or refused whole). The blinded
 * elements reveal nothing of the tokens they become, so nothing links a spend to this issue.
 *
 * @param blinded - the client's blinded elements (1 to MAX_TOKEN_BATCH, 32 bytes each)
 * @param epoch - the epoch asked for: it must be the current one
 * @throws KomradeError `TOKEN_INVALID` (another epoch), `TOKENS_EXHAUSTED`, `BAD_REQUEST` (an
 *   element that is not a valid ristretto255 element)
 */
export async function issueTokens(
  deps: IssueTokensDeps,
  name: string,
  blinded: readonly Uint8Array[],
  epoch: number,
  now: number,
): Promise<IssuedTokens> {
  const current = tokenEpochOf(now);
  if (epoch !== current) {
    throw new KomradeError(
      'TOKEN_INVALID',
      `Tokens are issued only for the current epoch, ${current} (today, UTC), not ${epoch}; check your clock.`,
    );
  }
  // A cheap refusal before any group arithmetic; the write below checks again, atomically.
  const issued = await deps.store.tokensIssued(name, epoch);
  if (issued + blinded.length > deps.perDay) {
    throw exhausted(deps.perDay, issued, blinded.length, epoch, now);
  }
  const evaluation = blindEvaluate(
    { mode: 'POPRF', info: tokenEpochInfo(epoch) },
    deps.keys.token,
    blinded,
  );
  const left = await deps.store.recordIssued(name, epoch, blinded.length, deps.perDay);
  if (left === undefined) {
    // Another request of this komrade took the rest meanwhile.
    const now2 = await deps.store.tokensIssued(name, epoch);
    throw exhausted(deps.perDay, now2, blinded.length, epoch, now);
  }
  return { ...evaluation, epoch, left };
}

/** POST /v2/tokens/issue (signed). */
export const issueTokensRoute: SignedRoute = {
  method: 'POST',
  template: TOKEN_ROUTES.issue,
  signed: true,
  handle: async ({ deps, body, now, signer }) => {
    const request = parseBody(tokenIssueRequestSchema, body, 'token issue request');
    const issued = await issueTokens(
      { keys: deps.keys, store: deps.store, perDay: deps.config.tokens.perDay },
      signer.name,
      request.blinded,
      request.epoch,
      now,
    );
    return {
      status: 200,
      body: {
        epoch: issued.epoch,
        evaluated: issued.evaluatedElements.map(toBase64url),
        proof: toBase64url(issued.proof),
        left: issued.left,
      },
    };
  },
};
