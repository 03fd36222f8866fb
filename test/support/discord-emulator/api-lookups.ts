/** Finding what a REST path names; a miss answers Discord's 404 with its "Unknown …" code. */
import { unknown } from './api-error.js';
import { param } from './replies.js';
import type { GuildState, Params } from './state.js';
import type { EmulatedChannel } from './types.js';
import type { World } from './world.js';

/** The guild of `:guild`. */
export function apiGuild(world: World, p: Params): GuildState {
  const state = world.guilds.get(param(p, 'guild'));
  if (state === undefined) throw unknown('Guild', 10004);
  return state;
}

/** The guild text channel of `:channel` (not a DM channel). */
export function apiChannel(world: World, p: Params): EmulatedChannel {
  const channel = world.channels.get(param(p, 'channel'));
  if (channel === undefined) throw unknown('Channel', 10003);
  return channel;
}
