/** Posting, editing and deleting messages, with the gateway events each change sends. */
import { ApiError, invalidForm } from './api-error.js';
import type { Gateway } from './gateway.js';
import { Intent, MessageFlag } from './protocol.js';
import { isObject } from './replies.js';
import type { ApiRequest, Json } from './state.js';
import type { EmulatedChannel, EmulatedMessage, EmulatedUser, MessageSource } from './types.js';
import type { WireJson } from './wire-json.js';
import type { World } from './world.js';

/** A new message; `body` is the request JSON its embeds and components come from. */
export interface NewMessage {
  readonly channel: EmulatedChannel;
  readonly source: MessageSource;
  readonly author: EmulatedUser;
  readonly content: string;
  readonly webhookId: string | null;
  readonly avatarUrl: string | null;
  readonly interactionId: string | null;
  readonly flags: number;
  readonly body: Json;
  readonly files: ApiRequest['files'];
}

/** Checks a message body as Discord does; returns its content and embeds when present. */
export function checkMessageBody(
  body: Json,
  files: ApiRequest['files'],
  creating: boolean,
): { content: string | undefined; embeds: unknown[] | undefined } {
  const content = typeof body.content === 'string' ? body.content : undefined;
  if (content !== undefined && content.length > 2000) {
    throw invalidForm('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
  }
  const embeds = Array.isArray(body.embeds) ? (body.embeds as unknown[]) : undefined;
  if (embeds !== undefined && embeds.length > 10) {
    throw invalidForm('embeds', 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  }
  const components = Array.isArray(body.components) ? body.components : [];
  if (
    creating &&
    (content ?? '') === '' &&
    (embeds ?? []).length === 0 &&
    components.length === 0 &&
    files.length === 0 &&
    !isObject(body.poll)
  ) {
    throw new ApiError(400, 50006, 'Cannot send an empty message');
  }
  return { content, embeds };
}

/** Every message goes through here, so the world, the gateway and waiting tests agree. */
export class MessageStore {
  readonly #world: World;
  readonly #wire: WireJson;
  readonly #gateway: Gateway;

  constructor(world: World, wire: WireJson, gateway: Gateway) {
    this.#world = world;
    this.#wire = wire;
    this.#gateway = gateway;
  }

  store(input: NewMessage): EmulatedMessage {
    const { body } = input;
    const message: EmulatedMessage = {
      id: this.#world.snowflake(),
      channelId: input.channel.id,
      guildId: input.channel.guildId,
      source: input.source,
      author: input.author,
      webhookId: input.webhookId,
      avatarUrl: input.avatarUrl,
      interactionId: input.interactionId,
      content: input.content,
      embeds: Array.isArray(body.embeds) ? (body.embeds as unknown[]) : [],
      components: Array.isArray(body.components) ? (body.components as unknown[]) : [],
      attachments: input.files,
      flags: input.flags,
      createdAt: this.#world.now(),
      editedAt: null,
      edits: 0,
      deleted: false,
    };
    this.#world.messages.push(message);
    if ((message.flags & MessageFlag.Ephemeral) === 0) {
      this.#dispatch('MESSAGE_CREATE', message);
    }
    this.#world.notify();
    return message;
  }

  /** Applies an edit; an edited deferred answer stops "thinking" (its Loading flag goes). */
  edit(message: EmulatedMessage, body: Json, files: ApiRequest['files']): void {
    const { content, embeds } = checkMessageBody(body, files, false);
    if (content !== undefined) message.content = content;
    if (embeds !== undefined) message.embeds = embeds;
    if (Array.isArray(body.components)) message.components = body.components as unknown[];
    if (files.length > 0) message.attachments = files;
    message.flags &= ~MessageFlag.Loading;
    message.editedAt = this.#world.now();
    message.edits++;
    if ((message.flags & MessageFlag.Ephemeral) === 0) {
      this.#dispatch('MESSAGE_UPDATE', message);
    }
    this.#world.notify();
  }

  delete(message: EmulatedMessage): void {
    message.deleted = true;
    if ((message.flags & MessageFlag.Ephemeral) === 0) {
      this.#gateway.dispatch(
        'MESSAGE_DELETE',
        { id: message.id, channel_id: message.channelId, guild_id: message.guildId },
        Intent.GuildMessages,
      );
    }
  }

  #dispatch(event: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', message: EmulatedMessage): void {
    const world = this.#world;
    if (world.dmChannels.has(message.channelId)) {
      // Direct messages reach only sessions with the DIRECT_MESSAGES intent, without a guild.
      this.#gateway.dispatch(event, this.#wire.message(message), Intent.DirectMessages);
      return;
    }
    const state = world.guild(message.guildId);
    const member = state.members.get(message.author.id);
    const full: Json = {
      ...this.#wire.message(message),
      guild_id: message.guildId,
      ...(member === undefined || message.webhookId !== null
        ? {}
        : { member: this.#wire.member(member, false) }),
    };
    // Without MESSAGE_CONTENT, Discord blanks what others wrote unless it mentions the bot.
    const readable =
      message.author.id === world.botUser.id ||
      this.#wire.mentions(message.content).some((user) => user.id === world.botUser.id);
    const blank = { ...full, content: '', embeds: [], attachments: [], components: [] };
    for (const session of this.#gateway.liveSessions()) {
      if ((session.intents & Intent.GuildMessages) === 0) continue;
      const visible = readable || (session.intents & Intent.MessageContent) !== 0;
      this.#gateway.send(session, event, visible ? full : blank);
    }
  }
}
