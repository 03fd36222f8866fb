/** The world's records as Discord's API v10 JSON, shared by REST answers and gateway events. */
import { randomBytes } from 'node:crypto';
import type { DmChannel, Endpoints, GuildState, Json, Member, Role } from './state.js';
import type { EmulatedChannel, EmulatedMessage, EmulatedUser, EmulatedWebhook } from './types.js';
import type { World } from './world.js';

/** Field for field what Discord sends, so discord.js builds its structures as it would there. */
export class WireJson {
  readonly #world: World;
  readonly #endpoints: Endpoints;

  constructor(world: World, endpoints: Endpoints) {
    this.#world = world;
    this.#endpoints = endpoints;
  }

  user(user: EmulatedUser): Json {
    return {
      id: user.id,
      username: user.username,
      discriminator: user.bot ? '0001' : '0',
      global_name: user.bot ? null : user.username,
      avatar: null,
      ...(user.bot ? { bot: true } : {}),
      public_flags: 0,
      flags: 0,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
      collectibles: null,
      primary_guild: null,
    };
  }

  /** Without `withUser` for where Discord leaves it out (message authors, resolved members). */
  member(member: Member, withUser = true): Json {
    return {
      ...(withUser ? { user: this.user(member.user) } : {}),
      nick: null,
      avatar: null,
      banner: null,
      roles: member.roles,
      joined_at: member.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    };
  }

  role(role: Role): Json {
    return {
      id: role.id,
      name: role.name,
      description: null,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: role.position,
      permissions: String(role.permissions),
      managed: role.managed,
      mentionable: false,
      flags: 0,
      ...(role.botId === undefined ? {} : { tags: { bot_id: role.botId } }),
    };
  }

  channel(channel: EmulatedChannel): Json {
    const state = this.#world.guild(channel.guildId);
    const last = this.#world.messages.findLast((m) => m.channelId === channel.id && !m.deleted);
    return {
      id: channel.id,
      type: 0,
      guild_id: channel.guildId,
      name: channel.name,
      position: [...state.channels.keys()].indexOf(channel.id),
      permission_overwrites: [],
      parent_id: null,
      topic: null,
      nsfw: false,
      last_message_id: last?.id ?? null,
      rate_limit_per_user: 0,
      flags: 0,
    };
  }

  dm(dm: DmChannel): Json {
    const last = this.#world.messages.findLast((m) => m.channelId === dm.id && !m.deleted);
    return {
      id: dm.id,
      type: 1,
      last_message_id: last?.id ?? null,
      flags: 0,
      recipients: [this.user(dm.user)],
    };
  }

  guild(state: GuildState): Json {
    const { guild } = state;
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      banner: null,
      description: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: state.roles.map((role) => this.role(role)),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      max_members: 500_000,
      vanity_url_code: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: 'en-US',
      nsfw_level: 0,
    };
  }

  /** GUILD_CREATE as a bot without the presences intent gets it: only its own member. */
  guildCreate(state: GuildState): Json {
    const botMember = this.#world.botMember(state);
    return {
      ...this.guild(state),
      joined_at: botMember.joinedAt,
      large: false,
      unavailable: false,
      member_count: state.members.size,
      members: [this.member(botMember)],
      channels: [...state.channels.values()].map((channel) => this.channel(channel)),
      threads: [],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  /** READY of a new gateway session (guilds unavailable), and a GUILD_CREATE for each after it. */
  ready(sessionId: string): { ready: Json; guilds: Json[] } {
    const world = this.#world;
    const guilds = [...world.guilds.values()];
    return {
      ready: {
        v: 10,
        user: { ...this.user(world.botUser), verified: true, mfa_enabled: false },
        guilds: guilds.map((state) => ({ id: state.guild.id, unavailable: true })),
        session_id: sessionId,
        session_type: 'normal',
        resume_gateway_url: this.#endpoints.gateway(),
        shard: [0, 1],
        application: { id: world.applicationId, flags: 0 },
        private_channels: [],
        relationships: [],
        presences: [],
        guild_join_requests: [],
        user_settings: {},
        geo_ordered_rtc_regions: [],
        _trace: ['emulator'],
      },
      guilds: guilds.map((state) => this.guildCreate(state)),
    };
  }

  /** A webhook as the bot sees it (with token and owner), or as its token's holder sees it. */
  webhook(webhook: EmulatedWebhook, asBot: boolean): Json {
    return {
      id: webhook.id,
      type: 1,
      guild_id: webhook.guildId,
      channel_id: webhook.channelId,
      name: webhook.name,
      avatar: webhook.avatar,
      application_id: this.#world.applicationId,
      token: webhook.token,
      url: `${this.#endpoints.api()}/webhooks/${webhook.id}/${webhook.token}`,
      ...(asBot ? { user: this.user(this.#world.botUser) } : {}),
    };
  }

  application(): Json {
    const { applicationId, botUser } = this.#world;
    return {
      id: applicationId,
      name: botUser.username,
      icon: null,
      description: '',
      bot_public: false,
      bot_require_code_grant: false,
      verify_key: randomBytes(32).toString('hex'),
      flags: 0,
      team: null,
      owner: this.user({ id: '1', username: 'owner', bot: false }),
      bot: this.user(botUser),
    };
  }

  /** The known users `<@id>` mentions in `content` name, each once. */
  mentions(content: string): EmulatedUser[] {
    const ids = [...content.matchAll(/<@!?(\d{17,20})>/g)].map((match) => match[1]);
    return [...new Set(ids)]
      .map((id) => (id === undefined ? undefined : this.#world.users.get(id)))
      .filter((user): user is EmulatedUser => user !== undefined);
  }

  message(message: EmulatedMessage): Json {
    const interaction = this.#world.interactions.get(message.interactionId ?? '');
    const api = this.#endpoints.api();
    return {
      id: message.id,
      type: message.interactionId === null ? 0 : 20,
      channel_id: message.channelId,
      author: this.user(message.author),
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt === null ? null : new Date(message.editedAt).toISOString(),
      tts: false,
      mention_everyone: false,
      mentions: this.mentions(message.content).map((user) => this.user(user)),
      mention_roles: [],
      attachments: message.attachments.map((file, index) => ({
        id: `${message.id}${index}`,
        filename: file.filename,
        size: file.size,
        url: `${api}/attachments/${message.id}/${file.filename}`,
        proxy_url: `${api}/attachments/${message.id}/${file.filename}`,
      })),
      embeds: message.embeds,
      components: message.components,
      pinned: false,
      flags: message.flags,
      ...(message.webhookId === null ? {} : { webhook_id: message.webhookId }),
      ...(message.source === 'interaction' ? { application_id: this.#world.applicationId } : {}),
      ...(interaction === undefined
        ? {}
        : {
            interaction_metadata: {
              id: interaction.id,
              type: 2,
              name: interaction.commandName,
              user: this.user(interaction.user),
              authorizing_integration_owners: { '0': message.guildId },
            },
          }),
    };
  }
}
