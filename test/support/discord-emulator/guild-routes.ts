/** Reading guilds: the guild, its channels, roles and members. */
import { unknown } from './api-error.js';
import { apiGuild } from './api-lookups.js';
import { ok, param } from './replies.js';
import { route, type RouteDeps } from './route.js';
import type { Route } from './state.js';

/** Read-only: guilds change only through the test helpers. */
export function guildRoutes({ world, wire }: Pick<RouteDeps, 'world' | 'wire'>): Route[] {
  return [
    route('GET /guilds/:guild', (_r, p) => ok(wire.guild(apiGuild(world, p)))),
    route('GET /guilds/:guild/channels', (_r, p) =>
      ok([...apiGuild(world, p).channels.values()].map((c) => wire.channel(c))),
    ),
    route('GET /guilds/:guild/roles', (_r, p) =>
      ok(apiGuild(world, p).roles.map((role) => wire.role(role))),
    ),
    route('GET /guilds/:guild/members/:user', (_r, p) => {
      const member = apiGuild(world, p).members.get(param(p, 'user'));
      if (member === undefined) throw unknown('Member', 10007);
      return ok(wire.member(member));
    }),
  ];
}
