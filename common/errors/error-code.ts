/** The stable string codes of every Komrade error: the Operator's wire codes and the client's own. */

/** Codes the Operator renders on the wire. Adding one without an HTTP status fails to compile. */
export const OPERATOR_ERROR_CODES = [
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'AUTH_REQUIRED',
  'BAD_SIGNATURE',
  'CLOCK_SKEW',
  'REPLAY',
  'NAME_INVALID',
  'NAME_RESERVED',
  'NAME_TAKEN',
  'NAME_UNKNOWN',
  'BAD_PROOF_OF_WORK',
  'LETTER_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'MAILBOX_FULL',
  'POST_INVALID',
  'COLLECTIVE_RULE',
  'COLLECTIVE_CONFLICT',
  'NOT_MEMBER',
  'KEY_INVALID',
  'REQUEST_TIMEOUT',
  // Anonymous tokens and sends (protocol v2)
  'TOKEN_INVALID',
  'TOKEN_SPENT',
  'TOKENS_EXHAUSTED',
  'LETTER_SIZE_CLASS',
  // Mailbox sessions (protocol v2): the session is gone (expired, evicted, Operator restarted)
  'SESSION_UNKNOWN',
  // Forward secrecy (protocol v2): ratchet keys are permanent; prekeys may be missing or refused
  'RATCHET_KEY_SET',
  'PREKEYS_MISSING',
  'PREKEY_ID_USED',
  'PREKEYS_FULL',
  'INTERNAL',
] as const;

/** Codes raised only on the client side (keystore, local checks, transport). */
export const CLIENT_ERROR_CODES = [
  'DECODE_FAILED',
  'LETTER_INVALID',
  'COLLECTIVE_INVALID',
  'TOKEN_PROOF_INVALID',
  'KEYSTORE_MISSING',
  'KEYSTORE_EXISTS',
  'KEYSTORE_CORRUPT',
  'WRONG_PASSPHRASE',
  'NOT_REGISTERED',
  'OPERATOR_KEY_CHANGED',
  'OPERATOR_UNREACHABLE',
  'OPERATOR_ERROR',
  'CONFIG_INVALID',
  'TOR_UNAVAILABLE',
  'USAGE',
  'EMPTY_MESSAGE',
  'BACKUP_INVALID',
  'AGENT_UNAVAILABLE',
  // The registry's transparency log: the Operator showed two views that cannot both be true
  'LOG_INCONSISTENT',
] as const;

export type OperatorErrorCode = (typeof OPERATOR_ERROR_CODES)[number];
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];
export type ErrorCode = OperatorErrorCode | ClientErrorCode;

const operatorCodes: ReadonlySet<string> = new Set(OPERATOR_ERROR_CODES);

/** True when `code` is one the Operator may send; used to trust codes that crossed the wire. */
export function isOperatorErrorCode(code: unknown): code is OperatorErrorCode {
  return typeof code === 'string' && operatorCodes.has(code);
}
