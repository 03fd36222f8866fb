/** How a fan-out (follower posts, collective messages) reports a recipient it cannot seal to. */
import { isKomradeError } from '../../common/errors/index.js';
import type { RecipientFailure } from './views.js';

/**
 * Why sealing to `name` failed, without the key or the text. A non-Komrade error comes from
 * libsodium refusing the recipient's key (e.g. a low-order X25519 point), so it is `KEY_INVALID`.
 */
export function recipientFailure(name: string, error: unknown): RecipientFailure {
  const code = isKomradeError(error) ? error.code : 'KEY_INVALID';
  return {
    name,
    code,
    reason:
      code === 'KEY_INVALID'
        ? `@${name}'s registered key cannot be sealed to (malformed or unsafe).`
        : `@${name}'s registration could not be used (${code}).`,
  };
}

/**
 * True for a failure that is about one recipient (their record or key), so the fan-out goes on
 * without them; anything else (the Operator unreachable, its key changed, a text too large for
 * anyone) fails the whole fan-out.
 */
export function isRecipientFault(error: unknown): boolean {
  if (!isKomradeError(error)) return true;
  return (
    error.code === 'KEY_INVALID' ||
    error.code === 'OPERATOR_ERROR' ||
    error.code === 'PREKEYS_MISSING'
  );
}
