/** Channels and their messages, in guilds and in DMs: post, list, read, edit, delete. */
import { ApiError, invalidForm, unknown } from './api-error.js';
import { apiChannel } from './api-lookups.js';
import { checkMessageBody } from './message-store.js';
import { MessageFlag } from './protocol.js';
import { noContent, ok, param } from './replies.js';
import { route, type RouteDeps } from './route.js';
import type { ApiRequest, DmChannel, Json, Params, Route } from './state.js';
import type { EmulatedMessage } from './types.js';

/** A DM channel id is accepted wherever a channel's messages are posted or listed. */
export function channelRoutes({
  world,
  wire,
  messages,
}: Pick<RouteDeps, 'world' | 'wire' | 'messages'>): Route[] {
  const channelMessage = (p: Params): EmulatedMessage => {
    const channel = apiChannel(world, p);
    const id = param(p, 'message');
    const message = world.messages.find((m) => m.id === id && m.channelId === channel.id);
    if (message === undefined || message.deleted) throw unknown('Message', 10008);
    return message;
  };

  /** The bot writes in a DM channel; refused (50007) when the user does not accept DMs. */
  const sendDm = (dm: DmChannel, request: ApiRequest): EmulatedMessage => {
    if (world.closedDms.has(dm.user.id)) {
      throw new ApiError(403, 50007, 'Cannot send messages to this user');
    }
    const { content } = checkMessageBody(request.body, request.files, true);
    return messages.store({
      channel: { id: dm.id, guildId: '', name: '' },
      source: 'bot',
      author: world.botUser,
      content: content ?? '',
      webhookId: null,
      avatarUrl: null,
      interactionId: null,
      flags: 0,
      body: request.body,
      files: request.files,
    });
  };

  /** A bot message in a guild channel; a bot cannot post ephemeral messages, so that flag goes. */
  const send = (request: ApiRequest, p: Params): EmulatedMessage => {
    const dm = world.dmChannels.get(param(p, 'channel'));
    if (dm !== undefined) return sendDm(dm, request);
    const channel = apiChannel(world, p);
    const { content } = checkMessageBody(request.body, request.files, true);
    const { flags } = request.body;
    return messages.store({
      channel,
      source: 'bot',
      author: world.botUser,
      content: content ?? '',
      webhookId: null,
      avatarUrl: null,
      interactionId: null,
      flags: typeof flags === 'number' ? flags & ~MessageFlag.Ephemeral : 0,
      body: request.body,
      files: request.files,
    });
  };

  /**
   * `GET /channels/:id/messages`: users' messages included, newest first as Discord answers;
   * `after`, `before` (message ids) and `limit` (1 to 100, default 50).
   */
  const list = (request: ApiRequest, p: Params): Json[] => {
    const channelId = param(p, 'channel');
    if (!world.dmChannels.has(channelId)) apiChannel(world, p);
    const limit = Number(request.query.get('limit') ?? '50');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw invalidForm('limit', 'NUMBER_TYPE_MAX', 'int value should be between 1 and 100.');
    }
    const after = request.query.get('after');
    const before = request.query.get('before');
    let found = world.messages.filter(
      (m) => m.channelId === channelId && !m.deleted && (m.flags & MessageFlag.Ephemeral) === 0,
    );
    if (before !== null) found = found.filter((m) => BigInt(m.id) < BigInt(before));
    // After an id: the oldest ones following it; otherwise the newest.
    found =
      after !== null
        ? found.filter((m) => BigInt(m.id) > BigInt(after)).slice(0, limit)
        : found.slice(-limit);
    return found.reverse().map((m) => ({
      ...wire.message(m),
      ...(m.guildId === '' ? {} : { guild_id: m.guildId }),
    }));
  };

  return [
    route('GET /channels/:channel', (_r, p) => {
      const dm = world.dmChannels.get(param(p, 'channel'));
      return ok(dm === undefined ? wire.channel(apiChannel(world, p)) : wire.dm(dm));
    }),
    route('POST /channels/:channel/typing', () => noContent),
    route('POST /channels/:channel/messages', (r, p) => ok(wire.message(send(r, p)))),
    route('GET /channels/:channel/messages', (r, p) => ok(list(r, p))),
    route('GET /channels/:channel/messages/:message', (_r, p) =>
      ok(wire.message(channelMessage(p))),
    ),
    route('PATCH /channels/:channel/messages/:message', (r, p) => {
      const message = channelMessage(p);
      // Webhook messages are edited through the webhook, not as the bot.
      if (message.author.id !== world.botUser.id || message.webhookId !== null) {
        throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
      }
      messages.edit(message, r.body, r.files);
      return ok(wire.message(message));
    }),
    route('DELETE /channels/:channel/messages/:message', (_r, p) => {
      messages.delete(channelMessage(p));
      return noContent;
    }),
  ];
}
