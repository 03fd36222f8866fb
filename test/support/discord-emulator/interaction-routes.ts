/**
 * The bot's side of an interaction: the callback that acknowledges it, then follow-ups and edits
 * of the original answer, which go through `/webhooks/<application id>/<interaction token>`.
 */
import { ApiError, invalidForm, unknown } from './api-error.js';
import { checkMessageBody } from './message-store.js';
import { MessageFlag } from './protocol.js';
import { isObject, noContent, ok, param } from './replies.js';
import { route, type RouteDeps } from './route.js';
import type { ApiRequest, InteractionState, Params, Reply, Route } from './state.js';
import type { EmulatedMessage, InteractionReply } from './types.js';
import type { World } from './world.js';

/** Resolves the test's `slash` promise with the answer, once. */
export function settle(interaction: InteractionState): void {
  if (interaction.settled || interaction.reply === undefined) return;
  interaction.settled = true;
  for (const timer of interaction.timers) clearTimeout(timer);
  interaction.resolve(interaction.reply);
}

/** Rejects every `slash` promise still waiting (the emulator is closing). */
export function abandonInteractions(world: World, reason: string): void {
  for (const interaction of world.interactions.values()) {
    for (const timer of interaction.timers) clearTimeout(timer);
    if (!interaction.settled) {
      interaction.settled = true;
      interaction.reject(new Error(reason));
    }
  }
}

/**
 * The interaction behind `/webhooks/:id/:token` if `:id` is the application's (an unknown token
 * then answers 10015); undefined if it names a real webhook.
 */
export function interactionByToken(world: World, p: Params): InteractionState | undefined {
  if (param(p, 'id') !== world.applicationId) return undefined;
  const token = param(p, 'token');
  for (const interaction of world.interactions.values()) {
    if (interaction.token === token) return interaction;
  }
  throw unknown('Webhook', 10015);
}

/** `@original` (the answer) or a follow-up's id. */
export function interactionMessage(interaction: InteractionState, which: string): EmulatedMessage {
  const message =
    which === '@original'
      ? interaction.original
      : interaction.reply?.followUps.find((m) => m.id === which);
  if (message === undefined || message.deleted) throw unknown('Message', 10008);
  return message;
}

/** A deferred answer is done once its original is edited (or a follow-up arrives). */
export function settleAfterEdit(interaction: InteractionState, message: EmulatedMessage): void {
  const reply = interaction.reply;
  if (reply === undefined || message !== interaction.original) return;
  reply.content = message.content;
  reply.embeds = message.embeds;
  reply.components = message.components;
  reply.files = message.attachments;
  settle(interaction);
}

/** A follow-up message (`POST /webhooks/:application/:token`); it finishes a deferred answer. */
export function followUp(
  { world, wire, messages }: Pick<RouteDeps, 'world' | 'wire' | 'messages'>,
  interaction: InteractionState,
  request: ApiRequest,
): Reply {
  const { body, files } = request;
  const reply = interaction.reply;
  // Before the callback there is no webhook to post to.
  if (reply === undefined) throw unknown('Webhook', 10015);
  const { content } = checkMessageBody(body, files, true);
  const flags = typeof body.flags === 'number' ? body.flags : 0;
  const message = messages.store({
    channel: interaction.channel,
    source: 'interaction',
    author: world.botUser,
    content: content ?? '',
    webhookId: world.applicationId,
    avatarUrl: null,
    interactionId: interaction.id,
    flags,
    body,
    files,
  });
  reply.followUps.push(message);
  if (reply.deferred && !interaction.settled) {
    reply.content = message.content;
    reply.embeds = message.embeds;
    reply.ephemeral = (flags & MessageFlag.Ephemeral) !== 0;
    settle(interaction);
  }
  return ok(wire.message(message));
}

/** The callback route; webhook-routes.ts sends follow-ups and edits to the helpers above. */
export function interactionRoutes({
  world,
  wire,
  messages,
}: Pick<RouteDeps, 'world' | 'wire' | 'messages'>): Route[] {
  /** Callback types 4 (message), 5 (deferred message) and 9 (modal); once, and in time. */
  const callback = (request: ApiRequest, p: Params): Reply => {
    const interaction = world.interactions.get(param(p, 'id'));
    if (
      interaction === undefined ||
      interaction.token !== param(p, 'token') ||
      interaction.expired
    ) {
      throw new ApiError(404, 10062, 'Unknown interaction');
    }
    if (interaction.reply !== undefined) {
      throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
    }
    const { type } = request.body;
    const data = isObject(request.body.data) ? request.body.data : {};
    const flags = typeof data.flags === 'number' ? data.flags : 0;
    const ephemeral = (flags & MessageFlag.Ephemeral) !== 0;
    let reply: InteractionReply;
    if (type === 4 || type === 5) {
      const deferred = type === 5;
      const content = deferred ? '' : (checkMessageBody(data, request.files, true).content ?? '');
      // A deferred answer is a message too: "thinking…" (Loading) until it is edited.
      interaction.original = messages.store({
        channel: interaction.channel,
        source: 'interaction',
        author: world.botUser,
        content,
        webhookId: world.applicationId,
        avatarUrl: null,
        interactionId: interaction.id,
        flags: deferred ? flags | MessageFlag.Loading : flags,
        body: deferred ? {} : data,
        files: deferred ? [] : request.files,
      });
      reply = {
        interactionId: interaction.id,
        callbackType: type,
        deferred,
        content,
        ephemeral,
        flags,
        embeds: interaction.original.embeds,
        components: interaction.original.components,
        modal: null,
        followUps: [],
      };
    } else if (type === 9) {
      reply = {
        interactionId: interaction.id,
        callbackType: 9,
        deferred: false,
        content: '',
        ephemeral: false,
        flags: 0,
        embeds: [],
        components: [],
        modal: data,
        followUps: [],
      };
    } else {
      throw invalidForm('type', 'BASE_TYPE_CHOICES', `Value must be one of (4, 5, 9).`);
    }
    interaction.reply = reply;
    if (!reply.deferred) settle(interaction);
    if (request.query.get('with_response') !== 'true') return noContent;
    const original = interaction.original;
    return ok({
      interaction: {
        id: interaction.id,
        type: 2,
        ...(original === undefined
          ? {}
          : {
              response_message_id: original.id,
              response_message_loading: reply.deferred,
              response_message_ephemeral: reply.ephemeral,
            }),
      },
      resource: {
        type: reply.callbackType,
        ...(original === undefined ? {} : { message: wire.message(original) }),
      },
    });
  };

  return [route('POST /interactions/:id/:token/callback', callback, false)];
}
