/** A member runs a slash command: the INTERACTION_CREATE a Discord client would cause. */
import { randomBytes } from 'node:crypto';
import { OptionType, Permission } from './protocol.js';
import type { RouteDeps } from './route.js';
import type { GuildState, InteractionState, Json, Resolved } from './state.js';
import type { CommandOptionDefinition, InteractionReply, SlashValue } from './types.js';

/** What running a command needs; `ackTimeoutMs` is Discord's 3 s unless a test changes it. */
export type SlashDeps = Pick<RouteDeps, 'world' | 'wire' | 'gateway' | 'endpoints'> & {
  readonly ackTimeoutMs: number;
};

/** The command a user runs, as `DiscordEmulator.slash` takes it. */
export interface SlashCommand {
  readonly channelId: string;
  readonly userId: string;
  /** `'command'` or `'command sub'`. */
  readonly name: string;
  readonly options: Record<string, SlashValue>;
  readonly timeoutMs: number;
}

/**
 * Dispatches the interaction and resolves with the bot's answer (see `DiscordEmulator.slash`).
 * Throws at once for what a Discord client would not let the user send.
 */
export function runSlashCommand(deps: SlashDeps, run: SlashCommand): Promise<InteractionReply> {
  const { world, wire, gateway, ackTimeoutMs } = deps;
  const { name, timeoutMs } = run;
  const channel = world.channel(run.channelId);
  const state = world.guild(channel.guildId);
  const member = state.members.get(run.userId);
  if (member === undefined) throw new Error(`user ${run.userId} is not a member of the guild`);
  const [commandName = '', ...path] = name.trim().split(/\s+/);
  const command =
    world.commands.find((c) => c.name === commandName && c.guildId === state.guild.id) ??
    world.commands.find((c) => c.name === commandName && c.guildId === null);
  if (command === undefined) throw new Error(`/${commandName} is not registered`);
  const permissions = world.memberPermissions(state, member);
  if (
    command.defaultMemberPermissions !== null &&
    (permissions & Permission.Administrator) === 0n &&
    (permissions & BigInt(command.defaultMemberPermissions)) !==
      BigInt(command.defaultMemberPermissions)
  ) {
    throw new Error(`${member.user.username} may not see /${commandName}`);
  }
  const resolved: Resolved = { users: {}, members: {}, channels: {}, roles: {}, attachments: {} };
  const built = buildOptions(deps, command.options, path, run.options, state, resolved);
  const id = world.snowflake();
  const token = `aW50ZXJhY3Rpb246${randomBytes(48).toString('base64url')}`;
  const guildId = state.guild.id;
  const payload: Json = {
    id,
    application_id: world.applicationId,
    type: 2,
    token,
    version: 1,
    data: {
      id: command.id,
      name: command.name,
      type: 1,
      ...(command.guildId === null ? {} : { guild_id: command.guildId }),
      ...(built.length === 0 ? {} : { options: built }),
      ...([
        resolved.users,
        resolved.members,
        resolved.channels,
        resolved.roles,
        resolved.attachments,
      ].some((r) => Object.keys(r).length > 0)
        ? { resolved }
        : {}),
    },
    guild_id: guildId,
    guild: { id: guildId, locale: 'en-US', features: [] },
    channel_id: channel.id,
    channel: { ...wire.channel(channel), permissions: String(permissions) },
    member: { ...wire.member(member), permissions: String(permissions) },
    app_permissions: String(world.memberPermissions(state, world.botMember(state))),
    locale: 'en-US',
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': guildId },
    context: 0,
    attachment_size_limit: 10_485_760,
  };
  return new Promise<InteractionReply>((resolve, reject) => {
    const interaction: InteractionState = {
      id,
      token,
      channel,
      user: member.user,
      commandName: name,
      reply: undefined,
      original: undefined,
      expired: false,
      settled: false,
      resolve,
      reject,
      timers: [],
    };
    const fail = (message: string) => {
      if (interaction.settled) return;
      interaction.settled = true;
      for (const timer of interaction.timers) clearTimeout(timer);
      reject(new Error(message));
    };
    interaction.timers.push(
      setTimeout(() => {
        if (interaction.reply !== undefined) return;
        // Like Discord: a late callback then answers 10062 Unknown interaction.
        interaction.expired = true;
        fail(`the bot did not acknowledge /${name} within ${ackTimeoutMs} ms`);
      }, ackTimeoutMs),
      setTimeout(() => {
        fail(`the bot did not finish answering /${name} within ${timeoutMs} ms`);
      }, timeoutMs),
    );
    world.interactions.set(id, interaction);
    gateway.dispatch('INTERACTION_CREATE', payload, 0);
  });
}

/** The `options` of the interaction's data, down the subcommand `path`; fills `resolved`. */
function buildOptions(
  deps: SlashDeps,
  definitions: readonly CommandOptionDefinition[],
  path: readonly string[],
  given: Record<string, SlashValue>,
  state: GuildState,
  resolved: Resolved,
): Json[] {
  const [head, ...rest] = path;
  if (head !== undefined) {
    const sub = definitions.find(
      (d) =>
        d.name === head &&
        (d.type === OptionType.SubCommand || d.type === OptionType.SubCommandGroup),
    );
    if (sub === undefined) throw new Error(`no subcommand ${head}`);
    return [
      {
        type: sub.type,
        name: sub.name,
        options: buildOptions(deps, sub.options ?? [], rest, given, state, resolved),
      },
    ];
  }
  if (definitions.some((d) => d.type === OptionType.SubCommand)) {
    throw new Error('this command needs a subcommand: name it as "command sub"');
  }
  for (const definition of definitions) {
    if (definition.required === true && !(definition.name in given)) {
      throw new Error(`option ${definition.name} is required`);
    }
  }
  return Object.entries(given).map(([name, value]) => {
    const definition = definitions.find((d) => d.name === name);
    if (definition === undefined) throw new Error(`the command has no option ${name}`);
    return {
      name,
      type: definition.type,
      value: optionValue(deps, definition, value, state, resolved),
    };
  });
}

/** An option's wire value: ids for users, channels, roles and uploads, which go in `resolved`. */
function optionValue(
  { world, wire, endpoints }: SlashDeps,
  definition: CommandOptionDefinition,
  value: SlashValue,
  state: GuildState,
  resolved: Resolved,
): SlashValue {
  const shown = typeof value === 'object' ? value.filename : String(value);
  const wrongType = () => new Error(`option ${definition.name} cannot take ${shown}`);
  if (typeof value === 'object') {
    if (definition.type !== OptionType.Attachment) throw wrongType();
    const id = world.snowflake();
    world.uploads.set(id, value);
    const url = `${endpoints.cdn()}/attachments/${id}/${encodeURIComponent(value.filename)}`;
    resolved.attachments[id] = {
      id,
      filename: value.filename,
      size: value.bytes.length,
      url,
      proxy_url: url,
      content_type: 'application/octet-stream',
    };
    return id;
  }
  switch (definition.type) {
    case OptionType.String:
      return String(value);
    case OptionType.Integer:
      if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType();
      return value;
    case OptionType.Number:
      if (typeof value !== 'number') throw wrongType();
      return value;
    case OptionType.Boolean:
      if (typeof value !== 'boolean') throw wrongType();
      return value;
    case OptionType.User:
    case OptionType.Channel:
    case OptionType.Role:
    case OptionType.Mentionable: {
      const id = String(value);
      const member = state.members.get(id);
      const channel = state.channels.get(id);
      const role = state.roles.find((r) => r.id === id);
      if (member !== undefined && definition.type !== OptionType.Channel) {
        resolved.users[id] = wire.user(member.user);
        resolved.members[id] = {
          ...wire.member(member, false),
          permissions: String(world.memberPermissions(state, member)),
        };
      } else if (channel !== undefined && definition.type === OptionType.Channel) {
        // A resolved channel is a partial one, with the bot's permissions in it.
        const {
          id: channelId,
          type,
          name,
          parent_id,
          permission_overwrites,
          flags,
        } = wire.channel(channel);
        resolved.channels[id] = {
          id: channelId,
          type,
          name,
          parent_id,
          permission_overwrites,
          flags,
          permissions: String(world.botPermissions),
        };
      } else if (
        role !== undefined &&
        (definition.type === OptionType.Role || definition.type === OptionType.Mentionable)
      ) {
        resolved.roles[id] = wire.role(role);
      } else {
        throw wrongType();
      }
      return id;
    }
    default:
      throw wrongType();
  }
}
