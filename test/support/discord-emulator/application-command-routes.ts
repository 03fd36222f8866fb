/** Application commands: registering them globally or per guild, one at a time or in bulk. */
import { ApiError, invalidForm } from './api-error.js';
import { apiGuild } from './api-lookups.js';
import { isObject, ok, param } from './replies.js';
import { route, type RouteDeps } from './route.js';
import type { ApiRequest, Json, Params, Reply, Route, StoredCommand } from './state.js';
import type { CommandOptionDefinition } from './types.js';

/** `:app` must be the emulator's application id, else 403 as Discord answers. */
export function applicationCommandRoutes({ world }: Pick<RouteDeps, 'world'>): Route[] {
  const checkApplication = (p: Params): void => {
    if (param(p, 'app') !== world.applicationId) throw new ApiError(403, 50001, 'Missing Access');
  };

  const commandJson = (command: StoredCommand): Json => ({
    ...command.raw,
    id: command.id,
    application_id: world.applicationId,
    ...(command.guildId === null ? {} : { guild_id: command.guildId }),
    name: command.name,
    description: command.description,
    type: command.type,
    options: command.options,
    default_member_permissions: command.defaultMemberPermissions,
    nsfw: command.raw.nsfw ?? false,
    version: world.snowflake(),
  });

  /** Validates a command as Discord does; one with a known name and type keeps its id. */
  const parseCommand = (raw: unknown, guildId: string | null): StoredCommand => {
    if (
      !isObject(raw) ||
      typeof raw.name !== 'string' ||
      !/^[-_\p{L}\p{N}]{1,32}$/u.test(raw.name)
    ) {
      throw invalidForm('name', 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    const type = typeof raw.type === 'number' ? raw.type : 1;
    const description = typeof raw.description === 'string' ? raw.description : '';
    if (type === 1 && (description.length < 1 || description.length > 100)) {
      throw invalidForm(
        'description',
        'BASE_TYPE_BAD_LENGTH',
        'Must be between 1 and 100 in length.',
      );
    }
    const name = raw.name;
    const existing = world.commands.find(
      (c) => c.name === name && c.type === type && c.guildId === guildId,
    );
    const permissions = raw.default_member_permissions;
    return {
      id: existing?.id ?? world.snowflake(),
      guildId,
      name,
      description,
      type,
      options: Array.isArray(raw.options) ? (raw.options as CommandOptionDefinition[]) : [],
      defaultMemberPermissions:
        typeof permissions === 'string' || typeof permissions === 'number'
          ? String(permissions)
          : null,
      raw,
    };
  };

  const list = (p: Params, guildId: string | null): Json[] => {
    checkApplication(p);
    return world.commands.filter((c) => c.guildId === guildId).map(commandJson);
  };

  /** The bulk `PUT`: the scope's commands become exactly the list sent. */
  const overwrite = (request: ApiRequest, p: Params, guildId: string | null): Json[] => {
    checkApplication(p);
    const sent = request.json;
    if (!Array.isArray(sent)) throw invalidForm('_root', 'ARRAY_TYPE_CONVERT', 'Must be an array');
    const commands = sent.map((raw) => parseCommand(raw, guildId));
    const kept = world.commands.filter((c) => c.guildId !== guildId);
    world.commands.splice(0, world.commands.length, ...kept, ...commands);
    return commands.map(commandJson);
  };

  /** `POST` creates (201) or, for a known name, replaces (200). */
  const create = (request: ApiRequest, p: Params, guildId: string | null): Reply => {
    checkApplication(p);
    const command = parseCommand(request.json, guildId);
    const index = world.commands.findIndex((c) => c.id === command.id);
    if (index === -1) world.commands.push(command);
    else world.commands[index] = command;
    return { status: index === -1 ? 201 : 200, body: commandJson(command) };
  };

  const guildId = (p: Params) => apiGuild(world, p).guild.id;
  return [
    route('GET /applications/:app/commands', (_r, p) => ok(list(p, null))),
    route('PUT /applications/:app/commands', (r, p) => ok(overwrite(r, p, null))),
    route('POST /applications/:app/commands', (r, p) => create(r, p, null)),
    route('GET /applications/:app/guilds/:guild/commands', (_r, p) => ok(list(p, guildId(p)))),
    route('PUT /applications/:app/guilds/:guild/commands', (r, p) =>
      ok(overwrite(r, p, guildId(p))),
    ),
    route('POST /applications/:app/guilds/:guild/commands', (r, p) => create(r, p, guildId(p))),
  ];
}
