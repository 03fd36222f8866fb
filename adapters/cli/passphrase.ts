/** Getting the keystore passphrase: from KOMRADE_PASSPHRASE, or typed on a terminal without echo. */
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import { passphraseWeakness } from '../../client/index.js';
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

/** How many times a person may type the passphrase at the prompt before komrade gives up. */
export const PASSPHRASE_TRIES = 3;

const canPrompt = (input: PromptInput): boolean =>
  input.isTTY === true && input.setRawMode !== undefined;

const NO_PASSPHRASE =
  'No passphrase: set KOMRADE_PASSPHRASE, or run komrade in a terminal to type it.';

const weakness = passphraseWeakness;

/**
 * The passphrase, from the environment or a hidden prompt. A new one (`confirm`) is checked for
 * length before it is asked for a second time; at the prompt a person gets
 * {@link PASSPHRASE_TRIES} tries to type an acceptable one twice alike.
 * @throws `USAGE` when there is neither, when the two entries differ, or when a new one is too short
 */
export async function obtainPassphrase(options: PassphraseOptions): Promise<string> {
  if (options.fromEnv !== undefined) {
    const problem = options.confirm
      ? weakness(options.fromEnv)
      : options.fromEnv === ''
        ? 'The passphrase is empty.'
        : undefined;
    if (problem !== undefined) throw new KomradeError('USAGE', problem);
    return options.fromEnv;
  }
  if (!canPrompt(options.input)) throw new KomradeError('USAGE', NO_PASSPHRASE);
  const { input, output } = options;
  if (!options.confirm) {
    const passphrase = await promptHidden(input, output, 'Passphrase: ');
    if (passphrase === '') throw new KomradeError('USAGE', 'The passphrase is empty.');
    return passphrase;
  }
  let problem = '';
  for (let tries = 1; tries <= PASSPHRASE_TRIES; tries++) {
    const passphrase = await promptHidden(input, output, 'Choose a passphrase: ');
    const weak = weakness(passphrase);
    if (weak === undefined) {
      const again = await promptHidden(input, output, 'Passphrase again: ');
      if (again === passphrase) return passphrase;
      problem = 'The two passphrases differ.';
    } else {
      problem = weak;
    }
    if (tries < PASSPHRASE_TRIES) output.progress(`${problem} Try again.`);
  }
  throw new KomradeError('USAGE', problem);
}

/**
 * Opens something with the passphrase (the keystore), asking again at the prompt when it is
 * wrong, up to {@link PASSPHRASE_TRIES} times. `KOMRADE_PASSPHRASE` gets one try: a script
 * cannot type another.
 * @param open - uses the passphrase; a `WRONG_PASSPHRASE` error from it means "ask again"
 * @throws `USAGE` as {@link obtainPassphrase}, and the last `WRONG_PASSPHRASE`
 */
export async function withPassphrase<T>(
  options: Omit<PassphraseOptions, 'confirm'>,
  open: (passphrase: string) => Promise<T>,
): Promise<T> {
  const prompting = options.fromEnv === undefined;
  for (let tries = 1; ; tries++) {
    const passphrase = await obtainPassphrase({ ...options, confirm: false });
    try {
      return await open(passphrase);
    } catch (error) {
      if (!prompting || tries >= PASSPHRASE_TRIES || !isKomradeError(error, 'WRONG_PASSPHRASE')) {
        throw error;
      }
      const left = PASSPHRASE_TRIES - tries;
      options.output.progress(
        `Wrong passphrase; try again (${left} ${left === 1 ? 'try' : 'tries'} left).`,
      );
    }
  }
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
