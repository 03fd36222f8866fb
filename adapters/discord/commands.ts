/**
 * The bot's slash commands, as registered with Discord at startup. The kit's commands are
 * generated from their specs (options Discord can check: required ones, lengths, integer ranges,
 * choices); the kit checks them again when they arrive. Commands typed alike (`/propose`) become
 * one command with a subcommand per keyword. Discord-only commands are written out here.
 */
import {
  ApplicationCommandOptionType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { optionalHere, typedOn, type ArgSpec, type CommandSpec } from '../../bridge/index.js';
import { DISCORD_TEXT_LIMIT, KIT_COMMANDS, discordSurface } from './discord-surface-kit.js';

/** Descriptions of commands typed alike, which the kit words one keyword at a time. */
const GROUP_DESCRIPTIONS: Readonly<Record<string, string>> = {
  propose: 'Propose a change of the rules, or removing a member',
};

/** A left-out collective is the channel's linked one: the option says so. */
const LINKED_DEFAULT = ' (default: the one linked to this channel)';

/** One argument as a slash-command option. */
export function optionOf(arg: ArgSpec): APIApplicationCommandBasicOption {
  const required = !optionalHere(arg, discordSurface.channelLinks);
  const standsIn = arg.kind === 'collective' && !required && arg.optional !== true;
  const base = {
    name: arg.name,
    description: standsIn ? `${arg.description}${LINKED_DEFAULT}` : arg.description,
    required,
  };
  const bounds = {
    ...(arg.min === undefined ? {} : { min_value: arg.min }),
    ...(arg.max === undefined ? {} : { max_value: arg.max }),
  };
  switch (arg.kind) {
    case 'name':
    case 'collective':
    case 'new-name':
    case 'text':
      return {
        ...base,
        type: ApplicationCommandOptionType.String,
        max_length: arg.maxLength ?? DISCORD_TEXT_LIMIT,
      };
    case 'choice':
      return {
        ...base,
        type: ApplicationCommandOptionType.String,
        choices: (arg.choices ?? []).map((choice) => ({ name: choice, value: choice })),
      };
    case 'integer':
    case 'days':
      return { ...base, type: ApplicationCommandOptionType.Integer, ...bounds };
  }
}

/** A spec's options, required ones first (Discord refuses a required one after an optional). */
const optionsOf = (spec: CommandSpec): APIApplicationCommandBasicOption[] =>
  spec.args.map(optionOf).sort((a, b) => Number(b.required ?? false) - Number(a.required ?? false));

/** The kit's commands as slash commands, in the order the surface lists them. */
export function kitSlashCommands(
  specs: readonly CommandSpec[],
): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const typedAlike = new Map<string, CommandSpec[]>();
  for (const spec of specs) {
    const typed = typedOn(discordSurface, spec);
    typedAlike.set(typed, [...(typedAlike.get(typed) ?? []), spec]);
  }
  return [...typedAlike].map(([typed, alike]) => {
    const [only] = alike;
    if (alike.length === 1 && only !== undefined && only.keyword === undefined) {
      const options = optionsOf(only);
      return {
        name: typed,
        description: only.summary,
        ...(options.length === 0 ? {} : { options }),
      };
    }
    const subcommands: APIApplicationCommandOption[] = alike.map((spec) => ({
      type: ApplicationCommandOptionType.Subcommand,
      name: spec.keyword?.word ?? spec.name,
      description: spec.summary,
      options: optionsOf(spec),
    }));
    return {
      name: typed,
      description: GROUP_DESCRIPTIONS[typed] ?? alike.map((s) => s.summary).join('; '),
      options: subcommands,
    };
  });
}

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

/** Commands only Discord has: channel links and backups (files). */
const DISCORD_ONLY: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[] = [
  {
    name: 'link',
    description: 'Carry a collective in this channel (channel managers)',
    default_member_permissions: CHANNEL_MANAGERS,
    contexts: [InteractionContextType.Guild],
    options: [text('collective', 'The collective, e.g. portland', true, 40)],
  },
  {
    name: 'unlink',
    description: 'Stop carrying a collective in this channel (channel managers)',
    default_member_permissions: CHANNEL_MANAGERS,
    contexts: [InteractionContextType.Guild],
  },
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
];

/** Every command, in the order `/help` shows them. */
export const COMMANDS: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[] = [
  ...kitSlashCommands(KIT_COMMANDS),
  ...DISCORD_ONLY,
];
