/** What the bot asks about itself and others: users, its application, the gateway, DM channels. */
import { unknown, invalidForm } from './api-error.js';
import { ok, param } from './replies.js';
import { route, type RouteDeps } from './route.js';
import type { Json, Route } from './state.js';
import type { GatewayStats } from './types.js';

/** `stats`: the gateway's counters, for the session start limit `/gateway/bot` reports. */
export function userRoutes(
  { world, wire, endpoints }: Pick<RouteDeps, 'world' | 'wire' | 'endpoints'>,
  stats: GatewayStats,
): Route[] {
  /** `POST /users/@me/channels`: the bot's one DM channel with a user, made on first use. */
  const openDm = (recipient: unknown): Json => {
    const user = typeof recipient === 'string' ? world.users.get(recipient) : undefined;
    if (user === undefined || user.bot) {
      throw invalidForm('recipient_id', 'USER_INVALID', 'Invalid recipient');
    }
    let channelId = world.dmOfUser.get(user.id);
    if (channelId === undefined) {
      channelId = world.snowflake();
      world.dmOfUser.set(user.id, channelId);
      world.dmChannels.set(channelId, { id: channelId, user });
    }
    const dm = world.dmChannels.get(channelId);
    if (dm === undefined) throw new Error('DM channel vanished');
    return wire.dm(dm);
  };

  // `@me` routes come before `:user` ones: the first match wins.
  return [
    route('GET /gateway', () => ok({ url: endpoints.gateway() }), false),
    route('GET /gateway/bot', () =>
      ok({
        url: endpoints.gateway(),
        shards: 1,
        session_start_limit: {
          total: 1000,
          remaining: 1000 - stats.identifies,
          reset_after: 86_400_000,
          max_concurrency: 1,
        },
      }),
    ),
    route('GET /users/@me', () => ok(wire.user(world.botUser))),
    route('POST /users/@me/channels', (r) => ok(openDm(r.body.recipient_id))),
    route('GET /users/:user', (_r, p) => {
      const user = world.users.get(param(p, 'user'));
      if (user === undefined) throw unknown('User', 10013);
      return ok(wire.user(user));
    }),
    route('GET /applications/@me', () => ok(wire.application())),
    route('GET /oauth2/applications/@me', () => ok(wire.application())),
  ];
}
