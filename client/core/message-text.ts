/** The one check every letter, post and collective message passes before anything is signed. */
import { KomradeError } from '../../common/errors/index.js';

/** What a text is, as the error messages name it. */
export type TextKind = 'letter' | 'post' | 'message';

// Whitespace and invisible format characters (zero-width spaces, joiners, BOM, soft hyphen):
// a text made only of these shows as nothing, so it is refused like an empty one.
const BLANK = /^[\p{White_Space}\p{Cf}]*$/u;

/** True when `text` shows as nothing: empty, or only whitespace and invisible characters. */
export function isBlankText(text: string): boolean {
  return BLANK.test(text);
}

/**
 * Refuses a blank text, then one over `maxBytes` of UTF-8.
 * @param tooLarge - the code for an oversized text (`LETTER_TOO_LARGE` for letters and
 * collective messages, `POST_INVALID` for posts)
 * @throws `EMPTY_MESSAGE` for a blank text, `tooLarge` for an oversized one
 */
export function checkMessageText(
  text: string,
  what: TextKind,
  maxBytes: number,
  tooLarge: 'LETTER_TOO_LARGE' | 'POST_INVALID',
): void {
  if (isBlankText(text)) {
    throw new KomradeError(
      'EMPTY_MESSAGE',
      `A ${what} cannot be empty or only spaces: write something to send.`,
    );
  }
  const size = Buffer.byteLength(text, 'utf8');
  if (size > maxBytes) {
    throw new KomradeError(
      tooLarge,
      `The ${what} is ${size} bytes; a ${what} may have at most ${maxBytes} bytes of text.`,
    );
  }
}

/** @throws `USAGE` when `to` is the sender: a letter to yourself has nobody to reach. */
export function refuseSelfLetter(from: string, to: string): void {
  if (from === to) {
    throw new KomradeError('USAGE', 'You cannot send a letter to yourself.');
  }
}
