/** Getting the keystore passphrase: from KOMRADE_PASSPHRASE, or typed on a terminal without echo. */
import { KomradeError } from '../../common/errors/index.js';
import type { Output } from './output.js';

/** The terminal input the prompt reads (process.stdin). */
export interface PromptInput {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** Options for {@link obtainPassphrase}. */
export interface PassphraseOptions {
  /** `KOMRADE_PASSPHRASE`, when set. */
  readonly fromEnv: string | undefined;
  readonly input: PromptInput;
  readonly output: Output;
  /** Ask twice and compare (for a new keystore). */
  readonly confirm: boolean;
}

/** Shortest passphrase accepted for a new keystore. */
export const MIN_PASSPHRASE_LENGTH = 8;

/**
 * The passphrase, from the environment or a hidden prompt.
 * @throws `USAGE` when there is neither, when the two entries differ, or when a new one is too short
 */
export async function obtainPassphrase(options: PassphraseOptions): Promise<string> {
  let passphrase: string;
  if (options.fromEnv !== undefined) {
    passphrase = options.fromEnv;
  } else if (options.input.isTTY === true && options.input.setRawMode !== undefined) {
    passphrase = await promptHidden(options.input, options.output, 'Passphrase: ');
    if (options.confirm) {
      const again = await promptHidden(options.input, options.output, 'Passphrase again: ');
      if (again !== passphrase) throw new KomradeError('USAGE', 'The two passphrases differ.');
    }
  } else {
    throw new KomradeError(
      'USAGE',
      'No passphrase: set KOMRADE_PASSPHRASE, or run komrade in a terminal to type it.',
    );
  }
  if (passphrase === '') throw new KomradeError('USAGE', 'The passphrase is empty.');
  if (options.confirm && Array.from(passphrase).length < MIN_PASSPHRASE_LENGTH) {
    throw new KomradeError(
      'USAGE',
      `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters (a few words is best).`,
    );
  }
  return passphrase;
}

/** Reads one line in raw mode, echoing nothing. Ctrl-C cancels. */
function promptHidden(input: PromptInput, output: Output, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    output.prompt(question);
    let value = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      output.prompt('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new KomradeError('USAGE', 'Cancelled.'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else value += ch;
      }
    };
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}
