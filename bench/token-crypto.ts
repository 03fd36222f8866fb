/**
 * The Operator's cryptographic cost of one anonymous token, against one Ed25519 verification (what
 * a signed send cost it) measured in the same run: checking a spent token (POPRF Evaluate) and
 * issuing one (BlindEvaluate, its share of a batch's proof).
 */
import { performance } from 'node:perf_hooks';
import {
  blind,
  blindEvaluate,
  evaluate,
  evaluator,
  generateIdentityKeys,
  generateOprfKeyPair,
  randomBytes,
  signDetached,
  verifyDetached,
} from '../common/crypto/index.js';
import { tokenEpochInfo } from '../common/wire/index.js';

/** Microseconds per operation of each measure. */
export interface TokenCryptoFigures {
  readonly ed25519VerifyUs: number;
  /** Evaluate as the RFC states it (the key's tweak and inverse computed each time). */
  readonly tokenCheckUncachedUs: number;
  /** With the epoch's evaluation key computed once, as the Operator checks tokens. */
  readonly tokenCheckUs: number;
  /** Per token, issuing batches of {@link ISSUE_BATCH}. */
  readonly tokenIssueUs: number;
  readonly issueBatch: number;
}

/** Tokens per issue request in the issuance measurements (a client's usual refill). */
export const ISSUE_BATCH = 50;

function perOp(ms: number, fn: () => void): number {
  const end = performance.now() + ms;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    fn();
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
}

/** Runs each measure for `ms` (after a short warm-up). */
export function benchTokenCrypto(ms: number): TokenCryptoFigures {
  const keys = generateIdentityKeys();
  const message = randomBytes(64);
  const sig = signDetached(message, keys.signSecret);
  const oprf = generateOprfKeyPair();
  const params = { mode: 'POPRF', info: tokenEpochInfo(20_000) } as const;
  const input = randomBytes(32);
  const batch = blind(
    'POPRF',
    Array.from({ length: ISSUE_BATCH }, () => randomBytes(32)),
  );
  const verify = () => {
    if (!verifyDetached(sig, message, keys.signPublic)) throw new Error('bench: bad signature');
  };
  const uncached = () => evaluate(params, oprf.secretKey, input);
  const epochCheck = evaluator(params, oprf.secretKey);
  const check = () => epochCheck(input);
  const issue = () => blindEvaluate(params, oprf, batch.blindedElements);
  for (const fn of [verify, uncached, check, issue]) perOp(Math.min(200, ms / 4), fn);
  return {
    ed25519VerifyUs: perOp(ms, verify),
    tokenCheckUncachedUs: perOp(ms, uncached),
    tokenCheckUs: perOp(ms, check),
    tokenIssueUs: perOp(ms, issue) / ISSUE_BATCH,
    issueBatch: ISSUE_BATCH,
  };
}
