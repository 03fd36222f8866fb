/**
 * The one rule for a new passphrase (a keystore's or a backup's), wherever it is typed: the CLI's
 * prompt, KOMRADE_PASSPHRASE, a chat bot's /backup.
 */

/** Shortest new passphrase accepted, in characters, not counting spaces around it. */
export const MIN_PASSPHRASE_LENGTH = 8;

/**
 * Why a new passphrase is refused, or `undefined` when it will do. Spaces around it do not count
 * toward its length (a chat app may add or keep them), but are kept as part of it.
 */
export function passphraseWeakness(passphrase: string): string | undefined {
  if (passphrase.trim() === '') return 'The passphrase is empty.';
  if (Array.from(passphrase.trim()).length < MIN_PASSPHRASE_LENGTH) {
    return `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters (a few words is best).`;
  }
  return undefined;
}
