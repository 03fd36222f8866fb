/** What the bot says about itself: its greeting, atop help, and what help adds after commands. */
import { command, lines, type Rich } from '../../bridge/index.js';

/** Commands only Telegram has (not kit commands): their own flows, in backup-composer and buttons. */
export const TELEGRAM_ONLY_COMMANDS = [
  { command: 'backup', description: 'Get your identity as a file encrypted under your passphrase' },
  {
    command: 'restore',
    description: 'Bring back a backup: send the file with the caption /restore',
  },
  { command: 'forget', description: 'Destroy the identity this bot holds for you' },
] as const;

/** The greeting of `/start`: what Komrade is, who can read what, and how to begin. */
export const GREETING: Rich = lines(
  // One line per paragraph: Telegram wraps them to the reader's screen.
  'Komrade is a small social network for people who organize: letters that only you and the ' +
    'recipient can read, and a world feed whose posts expire.',
  '',
  'What you should know about this bot, plainly:',
  '• Your Komrade keys are made and kept by this bot, on the machine of whoever runs it, ' +
    'encrypted under their master key. That person could read your letters if they wanted to. ' +
    'If that is not acceptable, use the komrade command on your own computer instead.',
  '• Telegram sees everything you write here and every letter the bot shows you, in the clear.',
  '• The Operator (the Komrade server) sees only sealed letters, names and times. It never ' +
    'learns your Telegram account.',
  '',
  'First steps:',
  ['1. ', command('register'), '  (3–32 letters a–z, digits or _)'],
  ['2. ', command('send'), '  — or reply to a letter to answer it'],
  '3. /help for everything else',
);

/** Atop `/help`. */
export const HELP: Rich =
  'Komrade: letters only you and the recipient can read, a world feed whose posts expire, and ' +
  'collectives. This bot holds your keys (see /start).';

/** After the command list: the commands only Telegram has, and how replies work. */
export const FOOTER: Rich = lines(
  ...TELEGRAM_ONLY_COMMANDS.map((c) => `/${c.command} — ${c.description}`),
  '',
  'Reply to a letter to answer its sender, to a collective message to answer the collective.',
  'New letters and collective messages arrive by themselves.',
);
