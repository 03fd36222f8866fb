/**
 * Everything the Discord bot says, in one place. Discord renders markdown, so names and texts from
 * elsewhere are escaped where they are not the sender's own words; mentions are never parsed (every
 * message goes out with `allowed_mentions: { parse: [] }`).
 */
import { escapeMarkdown } from 'discord.js';
import {
  type CandidateView,
  type CollectiveView,
  type KeyHolder,
  type MemberView,
  type ProposalView,
  type VoteOutcome,
  type VouchOutcome,
  untrustedLine,
} from '../../client/index.js';
import {
  constitutionMessage,
  describeChange,
  splitText,
  trustLabel,
  type ChatNotice,
  type LetterForChat,
} from '../../bridge/index.js';
import {
  MAX_QUORUM,
  MAX_VOTING_WINDOW_DAYS,
  type Constitution,
} from '../../common/collectives/index.js';
import { isKomradeError } from '../../common/errors/index.js';

/** Discord's longest message. */
export const DISCORD_TEXT_LIMIT = 2000;

const time = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** A Komrade name in Discord markdown (`_` would start italics). */
const at = (name: string) => `@${escapeMarkdown(name)}`;

/** Someone else's words (a join note) as one bounded line that no markdown or mention can shape. */
const untrusted = (text: string) =>
  escapeMarkdown(untrustedLine(text), {
    heading: true,
    maskedLink: true,
    bulletedList: true,
    numberedList: true,
  }).replace(/</g, '\\<');

/**
 * The short label a puppet's username carries: who holds the sender's keys. Discord refuses
 * webhook usernames containing "discord", so a Discord bridge is "dc bridge" here.
 */
const PUPPET_LABELS: Partial<Record<KeyHolder, string>> = {
  self: 'own device',
  telegram: 'telegram',
  discord: 'dc bridge',
};

/** The username a collective message is posted under: `@alice (telegram)`. At most 80 chars. */
export function puppetName(from: string, keyHolder: KeyHolder | null): string {
  // Labels are open (a surface added later has its own): any other shows as itself.
  const label = keyHolder === null ? 'unknown' : (PUPPET_LABELS[keyHolder] ?? keyHolder);
  return `@${from} (${label})`.slice(0, 80);
}

/** What every command answers when used without a collective outside a linked channel. */
const whichCollective = (example: string) =>
  `Which collective? Add \`collective:\`, e.g. \`${example}\` — or run it in a channel linked to one.`;

export const texts = {
  help: [
    '**Komrade** — collectives that grow by vouching and change their rules by vote.',
    '',
    '`/register name:` — get a Komrade identity (held by this bot, see below)',
    '`/create collective:` — start a collective',
    '`/join collective: note:` — ask to join; members vouch you in',
    '`/vouch candidate:` — vouch for someone who asked to join',
    '`/pending` · `/members` · `/constitution` · `/proposals` — look at a collective',
    '`/propose quorum|window|remove` — propose a change; `/vote proposal: choice:` — vote',
    '`/say text:` — write to every member · `/leave collective:` · `/collectives`',
    '`/link collective:` · `/unlink` — (channel managers) carry a collective in this channel',
    '`/backup passphrase:` · `/restore file: passphrase:` — your identity as an encrypted file, and back',
    '',
    'In a linked channel, `collective:` may be left out, and what members write here goes to every',
    'member of the collective; messages from members elsewhere appear here under their name.',
    '',
    'Your Komrade keys are made and kept by this bot, encrypted under its host’s master key: the',
    'host could read your messages, and Discord sees everything written in Discord. Everyone who',
    'can read a linked channel reads the collective’s messages there.',
  ].join('\n'),
  usage: {
    register:
      'Which name? `/register name:NAME` (3–32 letters a–z, digits or _), e.g. `/register name:ana`',
    join: whichCollective('/join collective:portland note:I cook for the assembly'),
    vouch: whichCollective('/vouch candidate:dave collective:portland'),
    pending: whichCollective('/pending collective:portland'),
    members: whichCollective('/members collective:portland'),
    constitution: whichCollective('/constitution collective:portland'),
    proposals: whichCollective('/proposals collective:portland'),
    propose: [
      whichCollective('/propose quorum vouches:2 collective:portland'),
      `\`/propose quorum vouches:N\` — a candidate needs N vouches (1–${MAX_QUORUM})`,
      `\`/propose window days:N\` — proposals stay open N days (1–${MAX_VOTING_WINDOW_DAYS})`,
      '`/propose remove member:NAME` — remove a member',
    ].join('\n'),
    proposeQuorum: `A quorum is a number of vouches from 1 to ${MAX_QUORUM}, e.g. \`/propose quorum vouches:2\``,
    proposeWindow: `A voting window is 1 to ${MAX_VOTING_WINDOW_DAYS} days, e.g. \`/propose window days:7\``,
    vote: [
      'Usage: `/vote proposal:ID choice:yes|no` — `/proposals` lists the ids.',
      whichCollective('/vote proposal:7 choice:yes collective:portland'),
    ].join('\n'),
    leave: 'Usage: `/leave collective:NAME`, e.g. `/leave collective:portland`',
    say: whichCollective('/say text:Meeting moved to 7 pm collective:portland'),
    link: 'Usage: `/link collective:NAME`, e.g. `/link collective:portland`, in the channel to link.',
  },
  notHere: 'I work in server text channels only.',
  backupDone: (name: string) =>
    [
      `Your Komrade identity ${at(name)}, encrypted under your passphrase (only you see this answer).`,
      'It restores with `/restore` in a Komrade Discord bot using the same Operator, and with `komrade restore` on a computer. Keep the file and the passphrase apart.',
    ].join('\n'),
  restoreRefused:
    'You already have an identity here; nothing was changed. To replace it with the backup (destroying it), add `replace:True`.',
  backupTooLarge: 'That file is far too large to be a Komrade backup.',
  restored: (name: string) => `Restored ${at(name)}. Your collectives and keys are back.`,
  noIdentity: 'You have no Komrade identity here yet. Start with `/register name:NAME`.',
  notRegistered: 'Your registration did not finish. `/register name:NAME` again.',
  busy: 'Still working on your last request; wait a moment.',
  stopping: 'I am restarting; try again in a minute.',
  alreadyRegistered: (name: string) => `You are already registered as ${at(name)}.`,
  registering: (name: string, percent: number) =>
    `Registering ${at(name)}… proof of work ${percent}% (this keeps name squatters away).`,
  registered: (name: string) =>
    [
      `Registered as ${at(name)}. Your keys are held by this bot, and every komrade sees that.`,
      'Next: `/join collective:NAME` to ask to join a collective.',
    ].join('\n'),
  creating: (name: string, percent: number) =>
    `Creating ${at(name)}… proof of work ${percent}% (this keeps name squatters away).`,
  created: (name: string) =>
    [
      `Created ${at(name)}. You are its first member.`,
      `Others ask to join with \`/join collective:${name}\`; you vouch them in with \`/vouch candidate:NAME collective:${name}\`.`,
      `A channel manager can carry it in a channel with \`/link collective:${name}\`.`,
    ].join('\n'),
  joinRequested: (view: CollectiveView, me: string) => {
    const quorum = view.pending.find((p) => p.candidate === me)?.quorum ?? 1;
    return (
      `Asked to join ${at(view.name)}. ${count(quorum, 'member')} must vouch for you ` +
      `(with \`/vouch candidate:${me} collective:${view.name}\`); I will tell you when you are in.`
    );
  },
  vouched: (outcome: VouchOutcome) =>
    outcome.admitted
      ? `You vouched for ${at(outcome.candidate)}: ${outcome.vouchers.length}/${outcome.quorum}, so ${at(outcome.candidate)} is now a member of ${at(outcome.collective)}.`
      : `You vouched for ${at(outcome.candidate)} in ${at(outcome.collective)}: ${outcome.vouchers.length}/${outcome.quorum} vouches.`,
  pendingNone: (name: string) => `Nobody is waiting to join ${at(name)}.`,
  pending: (name: string, pending: readonly CandidateView[]) =>
    [
      `Waiting to join ${at(name)} (vouches / needed):`,
      ...pending.map((c) => {
        const line = `${at(c.candidate)} ${c.vouchers.length}/${c.quorum} (${trustLabel(c.keyHolder)}) — asked ${time(c.requestedAt)}`;
        return c.note.length === 0 ? line : `${line}\n  “${untrusted(c.note)}”`;
      }),
    ].join('\n'),
  members: (name: string, members: readonly MemberView[]) =>
    [
      `Members of ${at(name)} (${members.length}):`,
      ...members.map((m) => `${at(m.name)} (${trustLabel(m.keyHolder)})`),
    ].join('\n'),
  constitution: (view: CollectiveView) => escapeMarkdown(constitutionMessage(view)),
  proposalsNone: (name: string) => `No open proposals in ${at(name)}. \`/propose\` makes one.`,
  proposals: (view: CollectiveView) =>
    [
      `Open proposals in ${at(view.name)}:`,
      ...view.proposals.map((p) =>
        [
          `**#${p.id}** by ${at(p.proposer)}: ${escapeMarkdown(describeChange(p.change, view.constitution))}`,
          `${p.yes.length} yes, ${p.no.length} no; ${p.required} yes needed; closes ${time(p.closesAt)}`,
          `\`/vote proposal:${p.id} choice:yes collective:${view.name}\``,
        ].join('\n'),
      ),
    ].join('\n\n'),
  proposed: (name: string, proposal: ProposalView, current: Constitution | undefined) =>
    [
      `Proposal #${proposal.id} in ${at(name)}: ${escapeMarkdown(describeChange(proposal.change, current))}.`,
      `It needs ${count(proposal.required, 'yes vote')} by ${time(proposal.closesAt)}.`,
      `Vote (you too): \`/vote proposal:${proposal.id} choice:yes collective:${name}\``,
    ].join('\n'),
  voted: (yes: boolean, outcome: VoteOutcome) =>
    outcome.alreadyPassed
      ? `Proposal #${outcome.proposal} had already passed, so your vote was not needed: it is in force in ${at(outcome.collective)}.`
      : outcome.enacted
        ? `Your vote counted, and proposal #${outcome.proposal} passed: it is now in force in ${at(outcome.collective)}.`
        : `Your ${yes ? 'yes' : 'no'} vote counted on #${outcome.proposal} in ${at(outcome.collective)}: ` +
          `${outcome.yes} yes, ${outcome.no} no; ${outcome.required} yes needed.`,
  left: (name: string, unlinked: number) =>
    unlinked === 0
      ? `You left ${at(name)}.`
      : unlinked === 1
        ? `You left ${at(name)}; the channel you linked to it no longer carries it.`
        : `You left ${at(name)}; the ${unlinked} channels you linked to it no longer carry it.`,
  said: (name: string, recipients: number) =>
    recipients === 0
      ? `Nobody else is in ${at(name)} yet, so nothing was sent.`
      : `Sealed for ${count(recipients, 'member')} of ${at(name)} and on its way.`,
  collectivesNone:
    'You are in no collective yet. `/create collective:` starts one; `/join collective:` asks to join one.',
  collectives: (names: readonly string[]) =>
    ['Your collectives:', ...names.map((n) => at(n))].join('\n'),

  // ---- links ---------------------------------------------------------------------------------
  linkNeedsManager: 'Only members who can manage this channel may link or unlink it.',
  linkNeedsMember: (name: string) =>
    `You must be a member of ${at(name)} to link a channel to it: what is said here goes to its members, and theirs appears here.`,
  alreadyLinked: (name: string) =>
    `This channel is already linked to ${at(name)}. \`/unlink\` first to link another collective.`,
  linked: (name: string, puppets: boolean) =>
    [
      `Linked this channel to ${at(name)}.`,
      puppets
        ? 'Messages from its members elsewhere will appear here under their names.'
        : 'I cannot use a webhook here (I need the Manage Webhooks permission, and a channel has at most 10), so messages from members elsewhere will appear under my name.',
      'Everyone who can read this channel will read them: link only a channel for the collective’s members.',
    ].join('\n'),
  linkAnnouncement: (name: string) =>
    [
      `🔗 This channel now carries the collective ${at(name)}.`,
      `What its members write here goes to every member, end-to-end encrypted; messages from members elsewhere appear here. Others may \`/join collective:${name}\`.`,
    ].join('\n'),
  notLinked: 'This channel is not linked to a collective.',
  unlinked: (name: string) => `Unlinked this channel from ${at(name)}.`,
  unlinkAnnouncement: (name: string) =>
    `This channel no longer carries ${at(name)}: nothing written here goes to it any more.`,
  linkLapsed: (name: string) =>
    `This channel no longer carries ${at(name)}: the member who linked it is no longer a member.`,

  // ---- messages in linked channels -----------------------------------------------------------
  notBridgedNoIdentity: (name: string) =>
    [
      `Your message in a channel linked to ${at(name)} was **not** sent to the collective: you have no Komrade identity here.`,
      `Only its members’ messages go through. \`/register name:NAME\`, then \`/join collective:${name}\`; members vouch you in.`,
    ].join('\n'),
  notBridgedNotMember: (name: string) =>
    [
      `Your message in a channel linked to ${at(name)} was **not** sent to the collective: you are not a member of it.`,
      `Only its members’ messages go through. \`/join collective:${name}\` asks to join (if you have not yet); members vouch you in.`,
    ].join('\n'),
  notBridgedEmpty: (name: string) =>
    `Only text goes to ${at(name)}: your message had none (attachments and stickers stay on Discord).`,
  notBridgedFailed: (name: string, reason: string) =>
    `Your message was not sent to ${at(name)}: ${reason} Write it again.`,

  // ---- what the engine pushes ----------------------------------------------------------------
  collectiveMessage: (
    collective: string,
    from: string,
    keyHolder: KeyHolder | null,
    text: string,
  ) => `**[${at(collective)}] ${at(from)}** (${trustLabel(keyHolder)}): ${text}`,
  letter: (letter: LetterForChat) =>
    [
      `${letter.post ? '📣 Post' : letter.firstContact ? '👋 First letter' : '✉️ Letter'} from ${at(letter.from)} (${trustLabel(letter.senderKeyHolder)}) · ${time(letter.sentAt)}`,
      letter.text,
    ].join('\n'),
} as const;

/** A notice from the engine, for a direct message. */
export function noticeText(notice: ChatNotice): string {
  switch (notice.kind) {
    case 'send-failed':
      return `Your letter to ${at(notice.to)} could not be delivered (${notice.code}).`;
    case 'sent':
      return `Sealed and on its way to ${at(notice.to)}.`;
    case 'new-follower':
      return `${at(notice.name)} now follows you.`;
    case 'collective-send-failed':
      return `Your message to ${at(notice.collective)} could not be delivered (${notice.code}).`;
    case 'collective-join-request':
      return [
        `${at(notice.candidate)} asks to join ${at(notice.collective)}${notice.note.length > 0 ? `: “${untrusted(notice.note)}”` : '.'}`,
        `Vouch for them with \`/vouch candidate:${notice.candidate} collective:${notice.collective}\` (${count(notice.quorum, 'vouch', 'vouches')} needed).`,
      ].join('\n');
    case 'collective-vouched':
      return notice.admitted
        ? `${at(notice.voucher)} vouched for you: you are now a member of ${at(notice.collective)}.`
        : `${at(notice.voucher)} vouched for you in ${at(notice.collective)} (${notice.vouches}/${notice.quorum}).`;
    case 'collective-proposal':
      return [
        `${at(notice.proposer)} proposes in ${at(notice.collective)} (#${notice.proposal}): ${escapeMarkdown(describeChange(notice.change, notice.inForce))}.`,
        `Vote by ${time(notice.closesAt)}: \`/vote proposal:${notice.proposal} choice:yes collective:${notice.collective}\` (or no)`,
      ].join('\n');
    case 'collective-enacted':
      return `Proposal #${notice.proposal} in ${at(notice.collective)} passed: ${escapeMarkdown(describeChange(notice.change, notice.before))}.`;
  }
}

/** A short, safe answer for an error (KomradeError messages are safe by design). */
export function errorMessage(error: unknown): string {
  if (isKomradeError(error)) {
    const friendly: Partial<Record<string, string>> = {
      NOT_REGISTERED: texts.noIdentity,
      KEYSTORE_MISSING: texts.noIdentity,
      OPERATOR_UNREACHABLE:
        'The Komrade Operator cannot be reached right now. Try again in a minute.',
      TOR_UNAVAILABLE: 'The Komrade Operator cannot be reached right now. Try again in a minute.',
      NAME_UNKNOWN: 'No komrade or collective is registered under that name.',
      EMPTY_MESSAGE: 'There is nothing to send: write some text (blank messages are not sent).',
      // The Operator's wording is about its log; say what to do instead.
      NOT_MEMBER:
        'You are not a member of that collective, nor waiting to join it. `/join collective:NAME` asks to join.',
      COLLECTIVE_CONFLICT:
        'The collective changed while I was working on it (someone else acted first). Try again.',
    };
    return friendly[error.code] ?? escapeMarkdown(error.message);
  }
  return 'Something went wrong on my side. Try again in a minute.';
}

/** Cuts `text` into chunks Discord accepts, at line breaks where possible. */
export const splitForDiscord = (text: string, limit = DISCORD_TEXT_LIMIT): string[] =>
  splitText(text, limit);
