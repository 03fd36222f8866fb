/** What the letter commands answer with (send, inbox, requests, accept, block, answer). */
import type { LetterRequest, ReceivedLetter } from '../../../../client/index.js';

export type LetterCommandView =
  /** Sealed and queued; a notice follows if it cannot be delivered. */
  | { readonly kind: 'letter-sent'; readonly to: string }
  /** The latest letters, oldest first. */
  | { readonly kind: 'inbox'; readonly letters: readonly ReceivedLetter[] }
  /** First letters from komrades not accepted yet, by sender. */
  | { readonly kind: 'requests'; readonly requests: readonly LetterRequest[] }
  /** `moved`: their held letters, now in the inbox. */
  | { readonly kind: 'accepted'; readonly name: string; readonly moved: number }
  | { readonly kind: 'blocked'; readonly name: string }
  /** An answer to a message that is no letter (nothing to answer). */
  | { readonly kind: 'not-a-letter' };
