/** How route modules declare their routes, and what they are given to answer them. */
import type { Gateway } from './gateway.js';
import type { MessageStore } from './message-store.js';
import type { Endpoints, Route } from './state.js';
import type { WireJson } from './wire-json.js';
import type { World } from './world.js';

/**
 * What a route module may use: the world it reads and changes, the JSON shapes it answers with,
 * the message store (which dispatches message events), the gateway for other events, and where
 * the emulator listens. Each module takes only the parts it needs.
 */
export interface RouteDeps {
  readonly world: World;
  readonly wire: WireJson;
  readonly messages: MessageStore;
  readonly gateway: Gateway;
  readonly endpoints: Endpoints;
}

/**
 * A route from `'METHOD /path/:param'` (relative to `/api/v10`). `auth`: needs the bot token;
 * webhook and interaction routes authenticate by the token in their path instead.
 */
export function route(spec: string, handle: Route['handle'], auth = true): Route {
  const [method = 'GET', path = '/'] = spec.split(' ');
  return { method, pattern: path.split('/').filter((s) => s !== ''), auth, handle };
}
