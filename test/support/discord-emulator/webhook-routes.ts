/**
 * Webhooks: the bot creates, lists and deletes them; their token's holder executes them and edits
 * or deletes what they posted. The same token routes under the application's id reach an
 * interaction (follow-ups, the original answer), as on Discord.
 */
import { randomBytes } from 'node:crypto';
import { ApiError, invalidForm, unknown } from './api-error.js';
import { apiChannel, apiGuild } from './api-lookups.js';
import {
  followUp,
  interactionByToken,
  interactionMessage,
  settleAfterEdit,
} from './interaction-routes.js';
import { checkMessageBody } from './message-store.js';
import { Intent, MAX_WEBHOOKS_PER_CHANNEL, MessageFlag } from './protocol.js';
import { noContent, ok, param } from './replies.js';
import { route, type RouteDeps } from './route.js';
import type { ApiRequest, InteractionState, Params, Reply, Route } from './state.js';
import type { EmulatedMessage, EmulatedWebhook } from './types.js';

/** Discord's rules for a webhook's name, and for the `username` an execution shows. */
function checkWebhookName(field: string, name: unknown): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 80) {
    throw invalidForm(field, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 80 in length.');
  }
  for (const banned of ['discord', 'clyde']) {
    if (name.toLowerCase().includes(banned)) {
      throw invalidForm(field, 'USERNAME_INVALID_CONTAINS', `Username cannot contain "${banned}"`);
    }
  }
  return name;
}

/** The webhook routes, the token ones before `/webhooks/:id` (first match wins). */
export function webhookRoutes(
  deps: Pick<RouteDeps, 'world' | 'wire' | 'messages' | 'gateway'>,
): Route[] {
  const { world, wire, messages, gateway } = deps;

  /** The webhook of `:id`, for the routes the bot calls with its own token. */
  const apiWebhook = (p: Params): EmulatedWebhook => {
    const webhook = world.webhooks.get(param(p, 'id'));
    if (webhook === undefined) throw unknown('Webhook', 10015);
    return webhook;
  };

  /** The webhook of `:id/:token`, whose token is its only credential. */
  const tokenWebhook = (p: Params): EmulatedWebhook => {
    const webhook = apiWebhook(p);
    if (webhook.token !== param(p, 'token')) {
      throw new ApiError(401, 50027, 'Invalid Webhook Token');
    }
    return webhook;
  };

  /** `:message` under `/webhooks/:id/:token`, and the interaction it belongs to, if any. */
  const tokenMessage = (
    p: Params,
  ): { interaction: InteractionState | undefined; message: EmulatedMessage } => {
    const which = param(p, 'message');
    const interaction = interactionByToken(world, p);
    if (interaction !== undefined) {
      return { interaction, message: interactionMessage(interaction, which) };
    }
    const webhook = tokenWebhook(p);
    const message = world.messages.find((m) => m.id === which && m.webhookId === webhook.id);
    if (message === undefined || message.deleted) throw unknown('Message', 10008);
    return { interaction, message };
  };

  const create = (request: ApiRequest, p: Params): Reply => {
    const channel = apiChannel(world, p);
    const name = checkWebhookName('name', request.body.name);
    if (world.webhooksOf(channel.id).length >= MAX_WEBHOOKS_PER_CHANNEL) {
      throw new ApiError(400, 30007, 'Maximum number of webhooks reached (10)');
    }
    const webhook: EmulatedWebhook = {
      id: world.snowflake(),
      token: randomBytes(51).toString('base64url'),
      channelId: channel.id,
      guildId: channel.guildId,
      name,
      // Discord stores the image and answers with its hash.
      avatar: typeof request.body.avatar === 'string' ? randomBytes(16).toString('hex') : null,
    };
    world.webhooks.set(webhook.id, webhook);
    gateway.dispatch(
      'WEBHOOKS_UPDATE',
      { guild_id: channel.guildId, channel_id: channel.id },
      Intent.GuildWebhooks,
    );
    return ok(wire.webhook(webhook, true));
  };

  /** Executing a webhook; only `?wait=true` answers with the message. */
  const execute = (request: ApiRequest, p: Params): Reply => {
    const interaction = interactionByToken(world, p);
    if (interaction !== undefined) return followUp(deps, interaction, request);
    const { body, files } = request;
    const webhook = tokenWebhook(p);
    const { content } = checkMessageBody(body, files, true);
    const username =
      body.username === undefined ? webhook.name : checkWebhookName('username', body.username);
    const message = messages.store({
      channel: world.channel(webhook.channelId),
      source: 'webhook',
      // Discord shows webhook messages under a webhook "user" whose id is the webhook's.
      author: { id: webhook.id, username, bot: true },
      content: content ?? '',
      webhookId: webhook.id,
      avatarUrl: typeof body.avatar_url === 'string' ? body.avatar_url : null,
      interactionId: null,
      flags: typeof body.flags === 'number' ? body.flags & ~MessageFlag.Ephemeral : 0,
      body,
      files,
    });
    return request.query.get('wait') === 'true' ? ok(wire.message(message)) : noContent;
  };

  return [
    route(
      'GET /webhooks/:id/:token/messages/:message',
      (_r, p) => ok(wire.message(tokenMessage(p).message)),
      false,
    ),
    route(
      'PATCH /webhooks/:id/:token/messages/:message',
      (r, p) => {
        const { interaction, message } = tokenMessage(p);
        messages.edit(message, r.body, r.files);
        if (interaction !== undefined) settleAfterEdit(interaction, message);
        return ok(wire.message(message));
      },
      false,
    ),
    route(
      'DELETE /webhooks/:id/:token/messages/:message',
      (_r, p) => {
        messages.delete(tokenMessage(p).message);
        return noContent;
      },
      false,
    ),
    route('POST /webhooks/:id/:token', execute, false),
    route('GET /webhooks/:id/:token', (_r, p) => ok(wire.webhook(tokenWebhook(p), false)), false),
    route(
      'DELETE /webhooks/:id/:token',
      (_r, p) => {
        world.webhooks.delete(tokenWebhook(p).id);
        return noContent;
      },
      false,
    ),
    route('GET /webhooks/:id', (_r, p) => ok(wire.webhook(apiWebhook(p), true))),
    route('DELETE /webhooks/:id', (_r, p) => {
      world.webhooks.delete(apiWebhook(p).id);
      return noContent;
    }),
    route('GET /channels/:channel/webhooks', (_r, p) =>
      ok(world.webhooksOf(apiChannel(world, p).id).map((w) => wire.webhook(w, true))),
    ),
    route('POST /channels/:channel/webhooks', create),
    route('GET /guilds/:guild/webhooks', (_r, p) => {
      const guildId = apiGuild(world, p).guild.id;
      return ok(
        [...world.webhooks.values()]
          .filter((w) => w.guildId === guildId)
          .map((w) => wire.webhook(w, true)),
      );
    }),
  ];
}
