/**
 * Discord as the chat-surface kit sees it: slash commands with named options, markdown, channels
 * that can carry a collective, and what the bot says about itself atop `/help`.
 */
import {
  COLLECTIVE_COMMANDS,
  IDENTITY_COMMANDS,
  collectiveArg,
  discordMarkdown,
  lines,
  splitText,
  strong,
  type CommandSpec,
  type Rich,
  type Surface,
} from '../../bridge/index.js';

/** Discord's longest message. */
export const DISCORD_TEXT_LIMIT = 2000;

/** Cuts `text` into chunks Discord accepts, at line breaks where possible. */
export const splitForDiscord = (text: string, limit = DISCORD_TEXT_LIMIT): string[] =>
  splitText(text, limit);

/** The kit commands Discord runs through the kit's generic path, in the order help lists them. */
export const KIT_COMMANDS: readonly CommandSpec[] = [
  ...IDENTITY_COMMANDS.filter((spec) => ['help', 'register', 'verifyme'].includes(spec.name)),
  ...COLLECTIVE_COMMANDS,
];

/**
 * A command only Discord has: listed in help and written by the kit's texts (`/link` after
 * `/create`), but run by the Discord handlers, never by the kit.
 */
const discordOnly = (
  name: string,
  summary: string,
  args: CommandSpec['args'],
  needs: CommandSpec['needs'] = 'registered',
): CommandSpec => ({
  name,
  summary,
  args,
  needs,
  run: () => ({ kind: 'unknown-command', typed: name }),
});

/** `/link`: its collective is always named (a link never stands in for it). */
export const LINK_COMMAND = discordOnly(
  'link',
  'Carry a collective in this channel (channel managers)',
  [collectiveArg(true)],
);

/** The Discord-only commands: channel links and backups. */
export const DISCORD_ONLY_COMMANDS: readonly CommandSpec[] = [
  LINK_COMMAND,
  // A channel manager may unlink a channel without an identity of their own.
  discordOnly(
    'unlink',
    'Stop carrying a collective in this channel (channel managers)',
    [],
    'nothing',
  ),
  discordOnly('backup', 'Your identity as a file encrypted under a passphrase you choose', [
    {
      name: 'passphrase',
      kind: 'text',
      description: 'At least 8 characters; the file opens only with it',
      placeholder: 'passphrase',
      maxLength: 1024,
    },
  ]),
  discordOnly('restore', 'Bring back a /backup file (file: and passphrase:) as your identity', []),
];

const HELP: Rich = [
  strong('Komrade'),
  ' — collectives that grow by vouching and change their rules by vote.',
];

/** The Discord surface: every text the bot says comes from the kit's catalogue rendered here. */
export const discordSurface: Surface = {
  style: discordMarkdown,
  syntax: 'options',
  channelLinks: true,
  commands: [...KIT_COMMANDS, ...DISCORD_ONLY_COMMANDS],
  textLimit: DISCORD_TEXT_LIMIT,
  about: {
    greeting: HELP,
    help: HELP,
    footer: lines(
      'In a channel linked to a collective, the collective may be left out of commands, and what ' +
        'members write there goes to every member; messages from members elsewhere appear there ' +
        'under their names.',
      '',
      'Your Komrade keys are made and kept by this bot, encrypted under its host’s master key: ' +
        'the host could read your messages, and Discord sees everything written in Discord. ' +
        'Everyone who can read a linked channel reads the collective’s messages there.',
    ),
  },
};
