/** The single error type of Komrade: a stable `code`, a safe message, never a secret or payload. */
import type { ErrorCode } from './error-code.js';

/** Options for {@link KomradeError}: an optional ES2022 cause, kept out of any rendering. */
export interface KomradeErrorOptions {
  readonly cause?: unknown;
}

/**
 * Every failure Komrade reports. The message must be safe to show a user and to log: it never
 * contains plaintext, keys, tokens or request bodies.
 */
export class KomradeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: KomradeErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** True for a KomradeError, or anything that crossed a process boundary carrying one's code. */
export function isKomradeError(error: unknown, code?: ErrorCode): error is KomradeError {
  if (!(error instanceof Error)) return false;
  const actual = (error as { code?: unknown }).code;
  if (typeof actual !== 'string') return false;
  return code === undefined ? error instanceof KomradeError : actual === code;
}
