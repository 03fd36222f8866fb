/** Letter and post text: from the command line, or from stdin when omitted or `-`. */
import { KomradeError } from '../../common/errors/index.js';

/** Largest text read from stdin; the engine enforces the real (smaller) limits. */
const MAX_STDIN_BYTES = 1024 * 1024;

/**
 * The words given on the command line joined by spaces, or all of stdin. On a terminal, the
 * person types the text after `prompt` shows how to end it (Ctrl-D on a line of its own).
 * @param prompt - writes the typing instructions (to stderr); without it a terminal is refused
 * @throws `USAGE` when stdin is a terminal and there is no prompt, or the text is too large
 */
export async function readText(
  words: readonly string[],
  stdin: AsyncIterable<string | Buffer> & { readonly isTTY?: boolean },
  prompt?: (text: string) => void,
): Promise<string> {
  if (words.length > 0 && !(words.length === 1 && words[0] === '-')) return words.join(' ');
  if (stdin.isTTY === true) {
    if (prompt === undefined) {
      throw new KomradeError('USAGE', 'Give the text as an argument, or pipe it in on stdin.');
    }
    prompt('Type the text, then press Ctrl-D on a new line to send it (Ctrl-C cancels):\n');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    size += buffer.length;
    if (size > MAX_STDIN_BYTES) throw new KomradeError('USAGE', 'The text on stdin is too long.');
    chunks.push(buffer);
  }
  // One trailing newline is how shells end input, not part of the letter.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
