/** The emulated world: users, guilds, channels, messages, webhooks and commands, and their ids. */
import { ALL_PERMISSIONS, DISCORD_EPOCH, EVERYONE_PERMISSIONS, Permission } from './protocol.js';
import type { DmChannel, GuildState, InteractionState, Member, StoredCommand } from './state.js';
import type {
  EmulatedChannel,
  EmulatedGuild,
  EmulatedMessage,
  EmulatedUpload,
  EmulatedUser,
  EmulatedWebhook,
} from './types.js';

/** How the world starts. */
export interface WorldOptions {
  readonly botUsername: string;
  /** The bot role's permissions in every guild. */
  readonly botPermissions: bigint;
  /** The clock for ids and timestamps. */
  readonly now: () => number;
}

/**
 * Everything the emulator knows, shared by the REST routes, the gateway payloads and the test
 * helpers. It never talks to the network: whoever changes it dispatches the gateway events.
 */
export class World {
  readonly now: () => number;
  readonly applicationId: string;
  /** The bot's user id is the application's id, as on Discord. */
  readonly botUser: EmulatedUser;
  readonly botPermissions: bigint;
  readonly users = new Map<string, EmulatedUser>();
  readonly guilds = new Map<string, GuildState>();
  readonly channels = new Map<string, EmulatedChannel>();
  /** Direct-message channels by id, and by the user they reach. */
  readonly dmChannels = new Map<string, DmChannel>();
  readonly dmOfUser = new Map<string, string>();
  /** Users who do not accept direct messages from the bot. */
  readonly closedDms = new Set<string>();
  readonly messages: EmulatedMessage[] = [];
  readonly webhooks = new Map<string, EmulatedWebhook>();
  readonly commands: StoredCommand[] = [];
  readonly interactions = new Map<string, InteractionState>();
  /** Files users attached to slash command options, by attachment id. */
  readonly uploads = new Map<string, EmulatedUpload>();
  /** Called after every new or edited message, so `waitFor…` helpers can look again. */
  readonly waiters = new Set<() => void>();
  #lastId = 0n;

  constructor(options: WorldOptions) {
    this.now = options.now;
    this.botPermissions = options.botPermissions;
    this.applicationId = this.snowflake();
    this.botUser = { id: this.applicationId, username: options.botUsername, bot: true };
    this.users.set(this.botUser.id, this.botUser);
  }

  /** A Discord snowflake: milliseconds since 2015 shifted by 22 bits, strictly increasing. */
  snowflake(): string {
    const fromClock = (BigInt(this.now()) - DISCORD_EPOCH) << 22n;
    this.#lastId = fromClock > this.#lastId ? fromClock : this.#lastId + 1n;
    return this.#lastId.toString();
  }

  /** A guild with its owner (an admin), the bot, and the roles `@everyone`, Admin and the bot's. */
  addGuild(name: string): GuildState {
    const id = this.snowflake();
    const owner: EmulatedUser = { id: this.snowflake(), username: `${name} owner`, bot: false };
    const guild: EmulatedGuild = {
      id,
      name,
      ownerId: owner.id,
      everyoneRoleId: id,
      adminRoleId: this.snowflake(),
      botRoleId: this.snowflake(),
    };
    const state: GuildState = {
      guild,
      roles: [
        { id, name: '@everyone', permissions: EVERYONE_PERMISSIONS, position: 0, managed: false },
        {
          id: guild.adminRoleId,
          name: 'Admin',
          permissions: Permission.Administrator,
          position: 1,
          managed: false,
        },
        {
          id: guild.botRoleId,
          name: this.botUser.username,
          permissions: this.botPermissions,
          position: 2,
          managed: true,
          botId: this.botUser.id,
        },
      ],
      channels: new Map(),
      members: new Map(),
      createdAt: this.now(),
    };
    this.guilds.set(id, state);
    this.users.set(owner.id, owner);
    const joinedAt = new Date(this.now()).toISOString();
    state.members.set(owner.id, { user: owner, roles: [guild.adminRoleId], joinedAt });
    state.members.set(this.botUser.id, { user: this.botUser, roles: [guild.botRoleId], joinedAt });
    return state;
  }

  addChannel(guildId: string, name: string): EmulatedChannel {
    const state = this.guild(guildId);
    const channel: EmulatedChannel = { id: this.snowflake(), guildId, name };
    state.channels.set(channel.id, channel);
    this.channels.set(channel.id, channel);
    return channel;
  }

  addMember(guildId: string, username: string, admin: boolean): Member {
    const state = this.guild(guildId);
    const user: EmulatedUser = { id: this.snowflake(), username, bot: false };
    this.users.set(user.id, user);
    const member: Member = {
      user,
      roles: admin ? [state.guild.adminRoleId] : [],
      joinedAt: new Date(this.now()).toISOString(),
    };
    state.members.set(user.id, member);
    return member;
  }

  // Lookups for test helpers: a miss is the test's mistake, so a plain Error.

  guild(guildId: string): GuildState {
    const state = this.guilds.get(guildId);
    if (state === undefined) throw new Error(`no guild ${guildId}`);
    return state;
  }

  channel(channelId: string): EmulatedChannel {
    const channel = this.channels.get(channelId);
    if (channel === undefined) throw new Error(`no channel ${channelId}`);
    return channel;
  }

  botMember(state: GuildState): Member {
    const member = state.members.get(this.botUser.id);
    if (member === undefined) throw new Error('the bot left the guild');
    return member;
  }

  /** A member's guild-wide permissions: the owner and Administrator have them all. */
  memberPermissions(state: GuildState, member: Member): bigint {
    if (member.user.id === state.guild.ownerId) return ALL_PERMISSIONS;
    let permissions = 0n;
    for (const role of state.roles) {
      if (role.id === state.guild.id || member.roles.includes(role.id)) {
        permissions |= role.permissions;
      }
    }
    return (permissions & Permission.Administrator) === 0n ? permissions : ALL_PERMISSIONS;
  }

  webhooksOf(channelId: string): EmulatedWebhook[] {
    return [...this.webhooks.values()].filter((w) => w.channelId === channelId);
  }

  /** Wakes the waiters (they remove themselves once satisfied). */
  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
