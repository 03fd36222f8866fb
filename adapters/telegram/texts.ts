/** Everything the bot says, in one place (plain text: no parse mode, so nothing needs escaping). */
import { isKomradeError } from '../../common/errors/index.js';
import {
  MAX_VOTING_WINDOW_DAYS,
  type Constitution,
  type ProposalChange,
} from '../../common/collectives/index.js';
import {
  type CandidateView,
  type CollectiveView,
  type FeedPost,
  type KeyHolder,
  type MemberView,
  type ProposalView,
  type ReceivedLetter,
  type VoteOutcome,
  type VouchOutcome,
  untrustedLine,
} from '../../client/index.js';
import {
  describeChange,
  splitText,
  trustLabel,
  type CollectiveMessageForChat,
  type LetterForChat,
} from '../../bridge/index.js';

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
  { command: 'collectives', description: 'Your collectives' },
  { command: 'create_collective', description: 'Start a collective: /create_collective NAME' },
  { command: 'join', description: 'Ask to join a collective: /join NAME [note]' },
  { command: 'say', description: 'Write to every member: /say NAME text' },
  { command: 'pending', description: 'Who waits to join, with vouches: /pending NAME' },
  { command: 'vouch', description: 'Vouch for a candidate: /vouch NAME @candidate' },
  { command: 'members', description: 'Members and who holds their keys: /members NAME' },
  { command: 'constitution', description: "A collective's rules: /constitution NAME" },
  {
    command: 'propose',
    description: 'Propose: /propose NAME quorum N | remove @member | window DAYS',
  },
  { command: 'proposals', description: 'Open proposals: /proposals NAME' },
  { command: 'vote', description: 'Vote on a proposal: /vote NAME ID yes|no' },
  { command: 'leave', description: 'Leave a collective: /leave NAME' },
  { command: 'backup', description: 'Get your identity as a file encrypted under your passphrase' },
  {
    command: 'restore',
    description: 'Bring back a backup: send the file with the caption /restore',
  },
  { command: 'forget', description: 'Destroy the identity this bot holds for you' },
  { command: 'help', description: 'All commands' },
] as const;

export const texts = {
  start: [
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
    '1. /register NAME  (3–32 letters a–z, digits or _)',
    '2. /send @name your text  — or reply to a letter to answer it',
    '3. /help for everything else',
  ].join('\n'),
  help: [
    'Commands:',
    ...COMMANDS.map((c) => `/${c.command} — ${c.description}`),
    '',
    'Reply to a letter to answer its sender, to a collective message to answer the collective.',
    'New letters and collective messages arrive by themselves.',
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
    createCollective:
      'Which name? /create_collective NAME (3–32 letters a–z, digits or _), e.g. /create_collective portland',
    join: 'Usage: /join NAME [a note for the members], e.g. /join portland I organize the food bank',
    vouch: 'Usage: /vouch NAME @candidate, e.g. /vouch portland @dave (see /pending NAME)',
    pending: 'Usage: /pending NAME, e.g. /pending portland',
    members: 'Usage: /members NAME, e.g. /members portland',
    constitution: 'Usage: /constitution NAME, e.g. /constitution portland',
    propose: [
      'Usage:',
      '/propose NAME quorum N — a candidate needs N vouches',
      '/propose NAME remove @member — remove a member',
      `/propose NAME window DAYS — proposals stay open DAYS days (1–${MAX_VOTING_WINDOW_DAYS})`,
      'e.g. /propose portland quorum 2',
    ].join('\n'),
    proposals: 'Usage: /proposals NAME, e.g. /proposals portland',
    vote: 'Usage: /vote NAME ID yes|no, e.g. /vote portland 7 yes (see /proposals NAME for the ids)',
    leave: 'Usage: /leave NAME, e.g. /leave portland',
    say: 'Usage: /say NAME text, e.g. /say portland Meeting moved to 7 pm',
    restore:
      'Send your backup file with the caption /restore (or reply /restore to it). Use /restore replace to replace the identity you have here.',
  },
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
  busyCollective: 'Still creating your last collective; wait a moment.',
  creatingCollective: (name: string, percent: number) =>
    `Creating @${name}… proof of work ${percent}% (this keeps name squatters away).`,
  createdCollective: (name: string) =>
    [
      `Created @${name}. You are its first member.`,
      `Others ask to join with /join ${name}; you admit them with /vouch ${name} @them.`,
      `Write to every member with /say ${name} text; /constitution ${name} shows its rules.`,
    ].join('\n'),
  joinRequested: (view: CollectiveView, me: string) => {
    const quorum = view.pending.find((p) => p.candidate === me)?.quorum ?? 1;
    return (
      `Asked to join @${view.name}. ${count(quorum, 'member')} must vouch for you ` +
      `(they can with /vouch ${view.name} @${me}); you will hear when you are in.`
    );
  },
  vouched: (outcome: VouchOutcome) =>
    outcome.admitted
      ? `You vouched for @${outcome.candidate}: ${outcome.vouchers.length}/${outcome.quorum}, so @${outcome.candidate} is now a member of @${outcome.collective}.`
      : `You vouched for @${outcome.candidate} in @${outcome.collective}: ${outcome.vouchers.length}/${outcome.quorum} vouches.`,
  pendingNone: (name: string) => `Nobody is waiting to join @${name}.`,
  pending: (name: string, pending: readonly CandidateView[]) =>
    [`Waiting to join @${name} (vouches / needed):`, ...pending.map(candidateLine)].join('\n'),
  members: (name: string, members: readonly MemberView[]) =>
    [
      `Members of @${name} (${members.length}):`,
      ...members.map((m) => `@${m.name} (${trustLabel(m.keyHolder)})`),
    ].join('\n'),
  proposalsNone: (name: string) =>
    `No open proposals in @${name}. Make one with /propose ${name} quorum N (see /help).`,
  proposals: (view: CollectiveView) =>
    [
      `Open proposals in @${view.name}:`,
      ...view.proposals.map((p) => proposalLine(view.name, p, view.constitution)),
    ].join('\n\n'),
  proposed: (name: string, proposal: ProposalView, current?: Constitution) =>
    [
      `Proposal #${proposal.id} in @${name}: ${describeChange(proposal.change, current)}.`,
      `It needs ${count(proposal.required, 'yes vote')} by ${time(proposal.closesAt)}.`,
      `Vote (you too): /vote ${name} ${proposal.id} yes`,
    ].join('\n'),
  voted: (yes: boolean, outcome: VoteOutcome) =>
    outcome.alreadyPassed
      ? `Proposal #${outcome.proposal} had already passed, so your vote was not needed: it is in force in @${outcome.collective}.`
      : outcome.enacted
        ? `Your vote counted, and proposal #${outcome.proposal} passed: it is now in force in @${outcome.collective}.`
        : `Your ${yes ? 'yes' : 'no'} vote counted on #${outcome.proposal} in @${outcome.collective}: ` +
          `${outcome.yes} yes, ${outcome.no} no; ${outcome.required} yes needed.`,
  left: (name: string) => `You left @${name}.`,
  collectivesNone:
    'You are in no collective yet. /create_collective NAME starts one; /join NAME asks to join one.',
  collectives: (names: readonly string[]) =>
    [
      'Your collectives:',
      ...names.map((n) => `@${n}`),
      '',
      '/members NAME, /pending NAME, /proposals NAME, /say NAME text',
    ].join('\n'),
  said: (name: string, recipients: number) =>
    recipients === 0
      ? `Nobody else is in @${name} yet, so nothing was sent.`
      : `Sealed for ${count(recipients, 'member')} of @${name} and on its way.`,
  collectiveSendFailed: (name: string, code: string) =>
    `Your message to @${name} could not be delivered (${code}).`,
  joinRequestNotice: (collective: string, candidate: string, note: string, quorum: number) =>
    [
      `@${candidate} asks to join @${collective}${note.length > 0 ? `: “${untrustedLine(note)}”` : '.'}`,
      `Vouch for them with /vouch ${collective} @${candidate} (${count(quorum, 'vouch', 'vouches')} needed).`,
    ].join('\n'),
  vouchedNotice: (
    collective: string,
    voucher: string,
    vouches: number,
    quorum: number,
    admitted: boolean,
  ) =>
    admitted
      ? `@${voucher} vouched for you: you are now a member of @${collective}. Write to it with /say ${collective} text.`
      : `@${voucher} vouched for you in @${collective} (${vouches}/${quorum}).`,
  proposalNotice: (
    collective: string,
    proposal: number,
    proposer: string,
    change: ProposalChange,
    inForce: Constitution,
    closesAt: number,
  ) =>
    [
      `@${proposer} proposes in @${collective} (#${proposal}): ${describeChange(change, inForce)}.`,
      `Vote by ${time(closesAt)}: /vote ${collective} ${proposal} yes (or no)`,
    ].join('\n'),
  enactedNotice: (
    collective: string,
    proposal: number,
    change: ProposalChange,
    before: Constitution,
  ) => `Proposal #${proposal} in @${collective} passed: ${describeChange(change, before)}.`,
  tooLong: (limit: number) => `That is too long: at most ${limit} characters.`,
} as const;

// Labels are open (a surface added later has its own): any other shows as itself.
const BRIDGE_NAMES: Partial<Record<KeyHolder, string>> = {
  telegram: 'Telegram',
  discord: 'Discord',
};

/**
 * The mark for a komrade whose keys an adapter holds (its host can read what they write), from
 * their signed registration; nothing for keys on the komrade's own device.
 */
export function keyHolderMark(keyHolder: KeyHolder | null | undefined): string | undefined {
  if (keyHolder === null || keyHolder === undefined || keyHolder === 'self') return undefined;
  return `🤖 keys held by a ${BRIDGE_NAMES[keyHolder] ?? keyHolder} bridge`;
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function candidateLine(c: CandidateView): string {
  const line = `@${c.candidate} ${c.vouchers.length}/${c.quorum} (${trustLabel(c.keyHolder)}) — asked ${time(c.requestedAt)}`;
  // The candidate's own words: one bounded line (the bot sends plain text, so no markup applies).
  return c.note.length === 0 ? line : `${line}\n  “${untrustedLine(c.note)}”`;
}

function proposalLine(name: string, p: ProposalView, current: Constitution): string {
  return [
    `#${p.id} by @${p.proposer}: ${describeChange(p.change, current)}`,
    `${p.yes.length} yes, ${p.no.length} no; ${p.required} yes needed; closes ${time(p.closesAt)}`,
    `/vote ${name} ${p.id} yes (or no)`,
  ].join('\n');
}

/** A collective message as pushed into the chat: the collective, then the sender and trust label. */
export function collectiveMessageText(message: CollectiveMessageForChat): string {
  return `[@${message.collective}] @${message.from} (${trustLabel(message.senderKeyHolder)}): ${message.text}`;
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
export const splitForTelegram = (text: string, limit = TELEGRAM_TEXT_LIMIT): string[] =>
  splitText(text, limit);

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
      EMPTY_MESSAGE: 'There is nothing to send: write some text (blank messages are not sent).',
      COLLECTIVE_CONFLICT:
        'The collective changed while I was working on it (someone else acted first). Try again.',
    };
    return friendly[error.code] ?? error.message;
  }
  return 'Something went wrong on my side. Try again in a minute.';
}
