/**
 * Which failures of a queued job no retry can fix: one exhaustive table over {@link ErrorCode}, so
 * a new code does not compile until someone decides what the bridge's queues do with it.
 */
import { UnrecoverableError } from 'bullmq';
import type { ErrorCode } from '../../common/errors/index.js';

/** What a queue does when a job fails with a code. */
export type JobFailure = 'permanent' | 'retry';

/**
 * `permanent`: the job fails at once and the user is told. `retry`: backoff and try again (the
 * network, Tor, the Operator or a clock may recover; a collective's membership may settle).
 */
export const JOB_FAILURES: Readonly<Record<ErrorCode, JobFailure>> = Object.freeze({
  // What the Operator answers
  BAD_REQUEST: 'permanent',
  PAYLOAD_TOO_LARGE: 'permanent',
  // A route an older Operator lacks may appear after its upgrade.
  NOT_FOUND: 'retry',
  METHOD_NOT_ALLOWED: 'permanent',
  AUTH_REQUIRED: 'permanent',
  BAD_SIGNATURE: 'permanent',
  // Clocks are corrected, and a replayed request is signed afresh on the next attempt.
  CLOCK_SKEW: 'retry',
  REPLAY: 'retry',
  NAME_INVALID: 'permanent',
  NAME_RESERVED: 'permanent',
  NAME_TAKEN: 'permanent',
  NAME_UNKNOWN: 'permanent',
  BAD_PROOF_OF_WORK: 'permanent',
  LETTER_TOO_LARGE: 'permanent',
  BATCH_TOO_LARGE: 'permanent',
  // The recipient may read their mail meanwhile.
  MAILBOX_FULL: 'retry',
  POST_INVALID: 'permanent',
  COLLECTIVE_RULE: 'permanent',
  // The outbox seals again for the members of now; more conflicts back off and try again.
  COLLECTIVE_CONFLICT: 'retry',
  NOT_MEMBER: 'permanent',
  KEY_INVALID: 'permanent',
  REQUEST_TIMEOUT: 'retry',
  // A retry takes a fresh token (of the current epoch); an exhausted allowance comes back.
  TOKEN_INVALID: 'retry',
  TOKEN_SPENT: 'retry',
  TOKENS_EXHAUSTED: 'retry',
  LETTER_SIZE_CLASS: 'permanent',
  // The client opens a new session itself; one that still fails is tried again later.
  SESSION_UNKNOWN: 'retry',
  // Forward secrecy: a set ratchet key, a refused prekey id or a full store stay as they are; the
  // recipient may publish prekeys later.
  RATCHET_KEY_SET: 'permanent',
  PREKEYS_MISSING: 'retry',
  PREKEY_ID_USED: 'permanent',
  PREKEYS_FULL: 'permanent',
  INTERNAL: 'retry',
  // Raised on this side
  DECODE_FAILED: 'permanent',
  LETTER_INVALID: 'permanent',
  COLLECTIVE_INVALID: 'permanent',
  TOKEN_PROOF_INVALID: 'permanent',
  // The identity was forgotten (or its store lost) while the job waited.
  KEYSTORE_MISSING: 'permanent',
  KEYSTORE_EXISTS: 'permanent',
  KEYSTORE_CORRUPT: 'permanent',
  WRONG_PASSPHRASE: 'permanent',
  NOT_REGISTERED: 'permanent',
  OPERATOR_KEY_CHANGED: 'permanent',
  OPERATOR_UNREACHABLE: 'retry',
  OPERATOR_ERROR: 'retry',
  CONFIG_INVALID: 'permanent',
  TOR_UNAVAILABLE: 'retry',
  USAGE: 'permanent',
  EMPTY_MESSAGE: 'permanent',
  BACKUP_INVALID: 'permanent',
  AGENT_UNAVAILABLE: 'retry',
  // A lying Operator: retrying cannot help, and the client stays stopped.
  LOG_INCONSISTENT: 'permanent',
});

const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(JOB_FAILURES, code);

/**
 * The code a failure carries: a KomradeError's, one that crossed a process boundary, or a system
 * error's (`ECONNREFUSED`, for logs). `INTERNAL` when it has none.
 */
export function codeOf(error: unknown): string {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'INTERNAL';
}

/** What a queue should do with a failure; anything without a Komrade code is retried. */
export function failureOf(error: unknown): JobFailure {
  const code = codeOf(error);
  return isErrorCode(code) ? JOB_FAILURES[code] : 'retry';
}

/**
 * Turns a failure into what BullMQ should do: an `UnrecoverableError` carrying the code (given up
 * at once), or the error itself (retried with backoff).
 */
export function forQueue(error: unknown): Error {
  const code = codeOf(error);
  if (failureOf(error) === 'permanent') {
    return Object.assign(new UnrecoverableError(code), { code });
  }
  return error instanceof Error ? error : new Error(code);
}
