/**
 * What only the Telegram bot says (plain text: no parse mode): its backup, restore and forget
 * prompts, group refusal and hints. Everything the kit's commands answer is worded in the kit.
 */
import { errorText, render } from '../../bridge/index.js';
import { TELEGRAM } from './surface.js';

export { keyHolderMark } from '../../bridge/index.js';

export const texts = {
  groupRefusal:
    'I keep a Komrade identity for each person, so I only work in a private chat. Write to me directly.',
  notACommand: 'To write a letter: /send @name text, or reply to a letter I showed you.',
  feedExpired: 'That page expired; send /feed again.',
  restoreUsage:
    'Send your backup file with the caption /restore (or reply /restore to it). Use /restore replace to replace the identity you have here.',
  backupAsk: [
    'Send me a passphrase for the backup file in your next message (anything else cancels).',
    'I delete that message at once and never store or log it, but Telegram has seen it: use a passphrase you use nowhere else.',
    'Without it the file cannot be opened, by you or anyone: keep it apart from the file.',
  ].join('\n'),
  restoreAsk:
    'Now send the passphrase of this backup in your next message (anything else cancels). I delete that message at once; Telegram has seen it.',
  restoreRefused:
    'You already have an identity here; nothing was changed. To replace it with the backup (destroying it), send the file again with the caption /restore replace.',
  passphraseDeleted: 'Deleted your passphrase message. Working on it…',
  passphraseNotDeleted:
    'I could not delete your passphrase message: delete it yourself. Working on it…',
  passphraseCancelled: 'No passphrase given; nothing was done.',
  backupCaption: (name: string) =>
    `Your Komrade identity @${name}, encrypted under your passphrase. It restores with /restore in a Komrade Telegram bot using the same Operator, and with komrade restore on a computer. Letters fetched after now are not in it.`,
  backupTooLarge: 'That file is far too large to be a Komrade backup.',
  restored: (name: string) =>
    `Restored @${name}. Letters waiting at the Operator arrive by themselves; /inbox shows the ones in the backup.`,
  forgetConfirm:
    'This destroys the Komrade identity this bot holds for you: your keys and every letter kept here. ' +
    'Your name stays registered at the Operator but nobody can use it any more. This cannot be undone.',
  forgotten: 'Your identity is destroyed. /register NAME to start again with a new name.',
  forgetCancelled: 'Nothing was destroyed.',
} as const;

/** A short, safe answer for an error (`KomradeError` messages are safe by design). */
export const errorMessage = (error: unknown): string =>
  render(errorText(error, TELEGRAM), TELEGRAM);
