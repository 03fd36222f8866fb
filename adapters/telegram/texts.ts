/** Everything the bot says, in one place (plain text: no parse mode, so nothing needs escaping). */
import { isKomradeError } from '../../common/errors/index.js';
import type { FeedPost, KeyHolder, LetterForChat, ReceivedLetter } from '../../bridge/index.js';

/** Telegram's longest message. */
export const TELEGRAM_TEXT_LIMIT = 4096;

const time = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export const COMMANDS = [
  { command: 'start', description: 'What Komrade is and how to begin' },
  { command: 'register', description: 'Register a name: /register NAME' },
  { command: 'whoami', description: 'Your name and keys' },
  { command: 'send', description: 'Write a letter: /send @name text' },
  { command: 'inbox', description: 'Your latest letters' },
  { command: 'requests', description: 'First letters from people you have not accepted' },
  { command: 'post', description: 'Post to the world feed: /post [3d] text' },
  { command: 'postfollowers', description: 'Post to your followers only: /postfollowers text' },
  { command: 'feed', description: 'Read the world feed' },
  { command: 'follow', description: 'Follow a komrade (get their posts): /follow @name' },
  { command: 'unfollow', description: 'Stop following: /unfollow @name' },
  { command: 'following', description: 'Who you follow' },
  { command: 'followers', description: 'Who follows you' },
  { command: 'forget', description: 'Destroy the identity this bot holds for you' },
  { command: 'help', description: 'All commands' },
] as const;

export const texts = {
  start: [
    'Komrade is a small social network for people who organize: letters that only you and the',
    'recipient can read, and a world feed whose posts expire.',
    '',
    'What you should know about this bot, plainly:',
    '• Your Komrade keys are made and kept by this bot, on the machine of whoever runs it, encrypted',
    '  under their master key. That person could read your letters if they wanted to. If that is not',
    '  acceptable, use the komrade command on your own computer instead.',
    '• Telegram sees everything you write here and every letter the bot shows you, in the clear.',
    '• The Operator (the Komrade server) sees only sealed letters, names and times. It never learns',
    '  your Telegram account.',
    '',
    'First steps:',
    '1. /register NAME  (3–32 letters a–z, digits or _)',
    '2. /send @name your text  — or reply to a letter to answer it',
    '3. /help for everything else',
  ].join('\n'),
  help: [
    'Commands:',
    ...COMMANDS.map((c) => `/${c.command} — ${c.description}`),
    '',
    'Reply to a letter to answer its sender. New letters arrive by themselves.',
  ].join('\n'),
  groupRefusal:
    'I keep a Komrade identity for each person, so I only work in a private chat. Write to me directly.',
  unknownCommand: (command: string) => `I don't know /${command}. /help lists what I understand.`,
  notACommand: 'To write a letter: /send @name text, or reply to a letter I showed you.',
  usage: {
    register: 'Which name? /register NAME (3–32 letters a–z, digits or _).',
    send: 'Usage: /send @name text',
    post: 'Usage: /post text — or /post 3d text to keep it 3 days (default 7).',
    postfollowers: 'Usage: /postfollowers text — sealed to each of your followers, not the feed.',
    follow: 'Usage: /follow @name',
    unfollow: 'Usage: /unfollow @name',
  },
  noIdentity: 'You have no Komrade identity here yet. Start with /register NAME.',
  alreadyRegistered: (name: string) => `You are already registered as @${name}.`,
  registering: (name: string, percent: number) =>
    `Registering @${name}… proof of work ${percent}% (this keeps name squatters away).`,
  registered: (name: string) =>
    `Registered as @${name}. Komrades can now write to you: letters arrive here by themselves.`,
  whoami: (name: string | null, signKey: string, boxKey: string, keyHolder: KeyHolder) =>
    [
      name === null ? 'Not registered yet (/register NAME).' : `You are @${name}.`,
      `Signing key: ${signKey}`,
      `Box key: ${boxKey}`,
      'Your keys are held by this bot (see /start).',
      ...keyHolderLines(keyHolder).map((mark) => `Komrades see on your letters: ${mark}`),
    ].join('\n'),
  queued: (to: string) => `Sealed and on its way to @${to}.`,
  notALetter: 'That message is not a letter, so I cannot answer it. Use /send @name text.',
  inboxEmpty: 'Your inbox is empty.',
  requestsEmpty: 'No first letters waiting.',
  requestHeader: (from: string, count: number) =>
    `@${from} wrote to you for the first time (${count} letter${count === 1 ? '' : 's'}):`,
  accepted: (name: string, moved: number) =>
    `Accepted @${name}${moved > 0 ? ` (${moved} letter${moved === 1 ? '' : 's'} moved to your inbox)` : ''}.`,
  blocked: (name: string) => `Blocked @${name}. Their letters will be dropped.`,
  posted: (expiresAt: number) => `Posted to the world feed until ${time(expiresAt)}.`,
  feedEmpty: 'The world feed is empty.',
  feedEnd: 'No older posts.',
  postedToFollowers: (count: number) =>
    count === 0
      ? 'You have no followers yet, so nothing was sent. /post text posts to the world feed.'
      : `Sealed for ${count} follower${count === 1 ? '' : 's'} and on its way.`,
  followed: (name: string, added: boolean) =>
    added
      ? `You follow @${name}. Their posts to followers will arrive here.`
      : `You already follow @${name}.`,
  newFollower: (name: string) => `@${name} now follows you.`,
  followersNone: 'Nobody follows you yet.',
  followers: (names: readonly string[]) =>
    `Your followers: ${names.map((n) => `@${n}`).join(', ')}`,
  unfollowed: (name: string, removed: boolean) =>
    removed ? `You no longer follow @${name}.` : `You did not follow @${name}.`,
  followingNone: 'You follow nobody yet. /follow @name',
  following: (names: readonly string[]) => `You follow: ${names.map((n) => `@${n}`).join(', ')}`,
  forgetConfirm:
    'This destroys the Komrade identity this bot holds for you: your keys and every letter kept here. ' +
    'Your name stays registered at the Operator but nobody can use it any more. This cannot be undone.',
  forgotten: 'Your identity is destroyed. /register NAME to start again with a new name.',
  forgetCancelled: 'Nothing was destroyed.',
  sendFailed: (to: string, code: string) =>
    `Your letter to @${to} could not be delivered (${code}).`,
  busy: 'Still working on your registration; wait a moment.',
  tooLong: (limit: number) => `That is too long: at most ${limit} characters.`,
} as const;

const BRIDGE_NAMES: Record<Exclude<KeyHolder, 'self'>, string> = {
  telegram: 'Telegram',
  discord: 'Discord',
};

/**
 * The mark for a komrade whose keys an adapter holds (its host can read what they write), from
 * their signed registration; nothing for keys on the komrade's own device.
 */
export function keyHolderMark(keyHolder: KeyHolder | null | undefined): string | undefined {
  if (keyHolder === null || keyHolder === undefined || keyHolder === 'self') return undefined;
  return `🤖 keys held by a ${BRIDGE_NAMES[keyHolder]} bridge`;
}

function keyHolderLines(keyHolder: KeyHolder | null | undefined): string[] {
  const mark = keyHolderMark(keyHolder);
  return mark === undefined ? [] : [mark];
}

/** A letter as pushed into the chat. */
export function letterMessage(letter: LetterForChat): string {
  const head = letter.post
    ? `📣 Post from @${letter.from}`
    : letter.firstContact
      ? `👋 First letter from @${letter.from} (not accepted yet)`
      : `✉️ Letter from @${letter.from}`;
  const lines = [head, `🕒 ${time(letter.sentAt)}`];
  lines.push(...keyHolderLines(letter.senderKeyHolder));
  lines.push('', letter.text);
  if (!letter.firstContact) lines.push('', '↩️ Reply to this message to answer.');
  return lines.join('\n');
}

/** One line per stored letter, for /inbox. */
export function inboxLine(letter: ReceivedLetter): string {
  const mark = letter.kind === 'post' ? '📣 post from ' : '';
  const held = keyHolderMark(letter.fromKeyHolder);
  return `${mark}@${letter.from} · ${time(letter.sentAt)}${held === undefined ? '' : ` · ${held}`}\n${letter.text}`;
}

export function postLine(post: FeedPost): string {
  return `@${post.from} · ${time(post.postedAt)} (until ${time(post.expiresAt)})\n${post.text}`;
}

/** Cuts `text` into chunks Telegram accepts, at line breaks where possible. */
export function splitForTelegram(text: string, limit = TELEGRAM_TEXT_LIMIT): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = rest.lastIndexOf('\n', limit);
    if (cut < limit / 2) cut = limit;
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  chunks.push(rest);
  return chunks;
}

/** A short, safe answer for an error (KomradeError messages are safe by design). */
export function errorMessage(error: unknown): string {
  if (isKomradeError(error)) {
    const friendly: Partial<Record<string, string>> = {
      NOT_REGISTERED: 'Register first: /register NAME',
      KEYSTORE_MISSING: texts.noIdentity,
      OPERATOR_UNREACHABLE:
        'The Komrade Operator cannot be reached right now. Try again in a minute.',
      TOR_UNAVAILABLE: 'The Komrade Operator cannot be reached right now. Try again in a minute.',
      NAME_UNKNOWN: 'Nobody is registered under that name.',
    };
    return friendly[error.code] ?? error.message;
  }
  return 'Something went wrong on my side. Try again in a minute.';
}
