/**
 * What only the Discord bot says: channel links, why a channel message was not bridged, backups,
 * and the names puppets post under. Everything else comes from the kit's catalogue. Texts are
 * rich text rendered in Discord markdown; mentions are never parsed (every message goes out with
 * `allowed_mentions: { parse: [] }`).
 */
import type { KeyHolder } from '../../client/index.js';
import { command, errorText, lines, name, render, strong, type Rich } from '../../bridge/index.js';
import { discordSurface } from './discord-surface-kit.js';

const md = (rich: Rich): string => render(rich, discordSurface);

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

/** Why a message in a linked channel did not go to the collective: the first line. */
const notSent = (collective: string, why: string): Rich => [
  'Your message in a channel linked to ',
  name(collective),
  ' was ',
  strong('not'),
  ` sent to the collective: ${why}.`,
];

export const texts = {
  stopping: 'I am restarting; try again in a minute.',
  notHere: 'I work in server text channels only.',

  // ---- backups -------------------------------------------------------------------------------
  backupDone: (who: string) =>
    md([
      'Your Komrade identity ',
      name(who),
      ', encrypted under your passphrase (only you see this answer).\nIt restores with ',
      command('restore'),
      ' in a Komrade Discord bot using the same Operator, and with ',
    ]) + '`komrade restore` on a computer. Keep the file and the passphrase apart.',
  restoreRefused:
    'You already have an identity here; nothing was changed. To replace it with the backup (destroying it), add `replace:True`.',
  backupTooLarge: 'That file is far too large to be a Komrade backup.',
  restored: (who: string) => md(['Restored ', name(who), '. Your collectives and keys are back.']),

  // ---- links ---------------------------------------------------------------------------------
  linkNeedsManager: 'Only members who can manage this channel may link or unlink it.',
  linkNeedsMember: (collective: string) =>
    md([
      'You must be a member of ',
      name(collective),
      ' to link a channel to it: what is said here goes to its members, and theirs appears here.',
    ]),
  alreadyLinked: (collective: string) =>
    md([
      'This channel is already linked to ',
      name(collective),
      '. ',
      command('unlink'),
      ' first to link another collective.',
    ]),
  linked: (collective: string, puppets: boolean) =>
    md(
      lines(
        ['Linked this channel to ', name(collective), '.'],
        puppets
          ? 'Messages from its members elsewhere will appear here under their names.'
          : 'I cannot use a webhook here (I need the Manage Webhooks permission, and a channel has at most 10), so messages from members elsewhere will appear under my name.',
        'Everyone who can read this channel will read them: link only a channel for the collective’s members.',
      ),
    ),
  linkAnnouncement: (collective: string) =>
    md(
      lines(
        ['🔗 This channel now carries the collective ', name(collective), '.'],
        [
          'What its members write here goes to every member, end-to-end encrypted; messages from members elsewhere appear here. Others may ',
          command('join', { collective }),
          '.',
        ],
      ),
    ),
  notLinked: 'This channel is not linked to a collective.',
  unlinked: (collective: string) => md(['Unlinked this channel from ', name(collective), '.']),
  unlinkAnnouncement: (collective: string) =>
    md([
      'This channel no longer carries ',
      name(collective),
      ': nothing written here goes to it any more.',
    ]),
  linkLapsed: (collective: string) =>
    md([
      'This channel no longer carries ',
      name(collective),
      ': the member who linked it is no longer a member.',
    ]),

  // ---- messages in linked channels -----------------------------------------------------------
  notBridgedNoIdentity: (collective: string) =>
    md(
      lines(notSent(collective, 'you have no Komrade identity here'), [
        'Only its members’ messages go through. ',
        command('register'),
        ', then ',
        command('join', { collective }),
        '; members vouch you in.',
      ]),
    ),
  notBridgedNotMember: (collective: string) =>
    md(
      lines(notSent(collective, 'you are not a member of it'), [
        'Only its members’ messages go through. ',
        command('join', { collective }),
        ' asks to join (if you have not yet); members vouch you in.',
      ]),
    ),
  notBridgedEmpty: (collective: string) =>
    md([
      'Only text goes to ',
      name(collective),
      ': your message had none (attachments and stickers stay on Discord).',
    ]),
  notBridgedFailed: (collective: string, reason: string) =>
    `${md(['Your message was not sent to ', name(collective), ': '])}${reason} Write it again.`,
} as const;

/** A short, safe answer for an error, in the kit's words (`KomradeError` messages are safe). */
export const errorMessage = (error: unknown): string => md(errorText(error, discordSurface));
