/** The one table from Operator error codes to HTTP statuses. */
import type { OperatorErrorCode } from './error-code.js';

/** Exhaustive: a new Operator code without a status here does not compile. */
export const HTTP_STATUS: Readonly<Record<OperatorErrorCode, number>> = Object.freeze({
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  AUTH_REQUIRED: 401,
  BAD_SIGNATURE: 401,
  CLOCK_SKEW: 401,
  REPLAY: 409,
  NAME_INVALID: 400,
  NAME_RESERVED: 403,
  NAME_TAKEN: 409,
  NAME_UNKNOWN: 404,
  BAD_PROOF_OF_WORK: 403,
  LETTER_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  MAILBOX_FULL: 507,
  POST_INVALID: 400,
  COLLECTIVE_RULE: 409,
  COLLECTIVE_CONFLICT: 409,
  NOT_MEMBER: 403,
  KEY_INVALID: 400,
  REQUEST_TIMEOUT: 408,
  // Forged, of an epoch not accepted now, or asked for an epoch other than the current one.
  TOKEN_INVALID: 403,
  TOKEN_SPENT: 409,
  TOKENS_EXHAUSTED: 429,
  LETTER_SIZE_CLASS: 400,
  SESSION_UNKNOWN: 401,
  // The name already has another ratchet key: it never changes.
  RATCHET_KEY_SET: 409,
  // The name has not published a signed and a Kyber prekey yet.
  PREKEYS_MISSING: 404,
  // A one-time prekey id the Operator already holds for this name.
  PREKEY_ID_USED: 409,
  // The upload would hold more one-time prekeys than the Operator keeps per name.
  PREKEYS_FULL: 409,
  INTERNAL: 500,
});
