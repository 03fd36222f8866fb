/**
 * Anonymous tokens (RFC 9497 POPRF over ristretto255-SHA512, the epoch as public input) and the
 * anonymous send they pay for. A registered komrade obtains tokens through a signed request;
 * spending one carries no name, no signature and nothing derived from the sender's keys.
 */
import { z } from 'zod';
import { base64urlBytes } from './base64url.js';
import { MAX_SEALED_LETTER_BYTES } from './limits.js';

/** The routes of protocol v2's anonymous mail. */
export const TOKEN_ROUTES = Object.freeze({
  /** Signed: blinded token inputs in, evaluations and one DLEQ proof out. */
  issue: '/v2/tokens/issue',
  /** Not signed: one letter, paid for with one token. */
  send: '/v2/mail/send',
});

/** A token epoch is one UTC day: its number is days since the Unix epoch. */
export const TOKEN_EPOCH_MS = 86_400_000;
/** Bytes of a token's random input (the client's secret until it is spent). */
export const TOKEN_INPUT_BYTES = 32;
/** Most tokens one issue request may ask for (the Operator may allow fewer a day). */
export const MAX_TOKEN_BATCH = 100;

/** The epoch `now` (ms since the Unix epoch) falls in. */
export const tokenEpochOf = (now: number): number => Math.floor(now / TOKEN_EPOCH_MS);

/** When `epoch` ends (ms): tokens of it are accepted until one more epoch has passed. */
export const tokenEpochEnd = (epoch: number): number => (epoch + 1) * TOKEN_EPOCH_MS;

/**
 * Epochs whose tokens the Operator accepts at `now`: this one, and the one before (a token
 * obtained just before midnight is still good). The spent set keeps an epoch only that long.
 */
export const acceptedTokenEpochs = (now: number): readonly number[] => {
  const epoch = tokenEpochOf(now);
  return [epoch, epoch - 1];
};

const encoder = new TextEncoder();

/** The POPRF public input of an epoch: the proof and every output are bound to it. */
export const tokenEpochInfo = (epoch: number): Uint8Array =>
  encoder.encode(`komrade token epoch ${epoch}`);

const element = base64urlBytes({ exact: 32 });
const epoch = z.number().int().nonnegative();

/** POST /v2/tokens/issue (signed). */
export const tokenIssueRequestSchema = z.strictObject({
  epoch,
  blinded: z.array(element).min(1).max(MAX_TOKEN_BATCH),
});
export type TokenIssueRequest = z.output<typeof tokenIssueRequestSchema>;

export const tokenIssueResponseSchema = z.strictObject({
  epoch,
  evaluated: z.array(element).min(1).max(MAX_TOKEN_BATCH),
  /** One DLEQ proof for the whole batch, against the Operator's published token key. */
  proof: base64urlBytes({ exact: 64 }),
  /** Tokens still to be had in this epoch after this batch. */
  left: z.number().int().nonnegative(),
});
export type TokenIssueResponse = z.output<typeof tokenIssueResponseSchema>;

/** A spent token: the input in the clear and its POPRF output. */
export const tokenSchema = z.strictObject({
  epoch,
  input: base64urlBytes({ exact: TOKEN_INPUT_BYTES }),
  output: base64urlBytes({ exact: 64 }),
});
export type Token = z.output<typeof tokenSchema>;

/** POST /v2/mail/send (not signed). */
export const anonymousSendRequestSchema = z.strictObject({
  to: z.string().max(64),
  sealed: base64urlBytes({ max: MAX_SEALED_LETTER_BYTES }),
  token: tokenSchema,
});
export type AnonymousSendRequest = z.output<typeof anonymousSendRequestSchema>;

export const anonymousSendResponseSchema = z.strictObject({
  id: base64urlBytes({ exact: 16 }),
  receivedAt: z.number().int().nonnegative(),
});
