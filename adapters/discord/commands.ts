/**
 * The bot's slash commands, as registered with Discord at startup. Options Discord can check
 * (required, integer ranges, yes/no choices) are declared here; everything else is checked by the
 * handlers, which answer wrong use with help.
 */
import {
  ApplicationCommandOptionType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
// Bounds of what /propose accepts: the constitution's own limits.
import { MAX_QUORUM, MAX_VOTING_WINDOW_DAYS } from '../../common/collectives/index.js';

/** `collective:`, optional where a linked channel can stand in for it. */
const collective = (required = false): APIApplicationCommandBasicOption => ({
  type: ApplicationCommandOptionType.String,
  name: 'collective',
  description: required
    ? 'The collective, e.g. portland'
    : 'The collective, e.g. portland (default: the one linked to this channel)',
  required,
  max_length: 40,
});

const text = (
  name: string,
  description: string,
  required: boolean,
  maxLength: number,
): APIApplicationCommandBasicOption => ({
  type: ApplicationCommandOptionType.String,
  name,
  description,
  required,
  max_length: maxLength,
});

const CHANNEL_MANAGERS = String(PermissionFlagsBits.ManageChannels);

/** Every command, in the order `/help` shows them. */
export const COMMANDS: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[] = [
  { name: 'help', description: 'What Komrade is and every command' },
  {
    name: 'register',
    description: 'Get a Komrade identity, held by this bot',
    options: [text('name', 'Your Komrade name: 3–32 letters a–z, digits or _', true, 40)],
  },
  {
    name: 'create',
    description: 'Start a collective, with you as its first member',
    options: [collective(true)],
  },
  {
    name: 'join',
    description: 'Ask to join a collective; its members vouch you in',
    options: [collective(), text('note', 'A word to the members, e.g. who you are', false, 1000)],
  },
  {
    name: 'vouch',
    description: 'Vouch for someone who asked to join',
    options: [text('candidate', 'Their Komrade name, e.g. dave', true, 40), collective()],
  },
  {
    name: 'pending',
    description: 'Who waits to join, with their vouches',
    options: [collective()],
  },
  { name: 'members', description: 'Members, and who holds their keys', options: [collective()] },
  { name: 'constitution', description: "A collective's rules", options: [collective()] },
  { name: 'proposals', description: 'Open proposals with their votes', options: [collective()] },
  {
    name: 'propose',
    description: 'Propose a change of the rules, or removing a member',
    options: [
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'quorum',
        description: 'A candidate needs this many vouches',
        options: [
          {
            type: ApplicationCommandOptionType.Integer,
            name: 'vouches',
            description: `Vouches needed (1–${MAX_QUORUM})`,
            required: true,
            min_value: 1,
            max_value: MAX_QUORUM,
          },
          collective(),
        ],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'window',
        description: 'Proposals stay open this many days',
        options: [
          {
            type: ApplicationCommandOptionType.Integer,
            name: 'days',
            description: `Days (1–${MAX_VOTING_WINDOW_DAYS})`,
            required: true,
            min_value: 1,
            max_value: MAX_VOTING_WINDOW_DAYS,
          },
          collective(),
        ],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'remove',
        description: 'Remove a member',
        options: [text('member', 'Their Komrade name', true, 40), collective()],
      },
    ],
  },
  {
    name: 'vote',
    description: 'Vote on a proposal',
    options: [
      {
        type: ApplicationCommandOptionType.Integer,
        name: 'proposal',
        description: 'Its id, as /proposals shows it',
        required: true,
        min_value: 0,
      },
      {
        type: ApplicationCommandOptionType.String,
        name: 'choice',
        description: 'yes or no',
        required: true,
        choices: [
          { name: 'yes', value: 'yes' },
          { name: 'no', value: 'no' },
        ],
      },
      collective(),
    ],
  },
  {
    name: 'say',
    description: 'Write to every member of a collective',
    options: [text('text', 'What to say', true, 2000), collective()],
  },
  {
    name: 'leave',
    description: 'Leave a collective (or withdraw your request to join)',
    options: [collective(true)],
  },
  { name: 'collectives', description: 'The collectives you are in or asked to join' },
  {
    name: 'backup',
    description: 'Get your identity as a file encrypted under a passphrase you choose',
    options: [text('passphrase', 'At least 8 characters; the file opens only with it', true, 1024)],
  },
  {
    name: 'restore',
    description: 'Bring back a backup file as your identity here',
    options: [
      {
        type: ApplicationCommandOptionType.Attachment,
        name: 'file',
        description: 'The file /backup gave you',
        required: true,
      },
      text('passphrase', 'The passphrase of that file', true, 1024),
      {
        type: ApplicationCommandOptionType.Boolean,
        name: 'replace',
        description: 'Destroy the identity you have here and take the backup instead',
        required: false,
      },
    ],
  },
  {
    name: 'link',
    description: 'Carry a collective in this channel (channel managers)',
    default_member_permissions: CHANNEL_MANAGERS,
    contexts: [InteractionContextType.Guild],
    options: [collective(true)],
  },
  {
    name: 'unlink',
    description: 'Stop carrying a collective in this channel (channel managers)',
    default_member_permissions: CHANNEL_MANAGERS,
    contexts: [InteractionContextType.Guild],
  },
];
