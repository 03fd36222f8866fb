/** GET /v1/health: whether this Operator can serve, for a self-hoster's monitor. */
import { ROUTES } from '../../../common/wire/index.js';
import type { PublicRoute } from '../route.js';

/** No name can be empty, so this read finds nothing and touches no komrade's row. */
const NO_SUCH_NAME = '';

/**
 * GET /v1/health: 200 `{ status: 'ok' }` when the store answers a trivial read, 503
 * `{ status: 'unavailable' }` otherwise. No auth, and nothing about names or counts.
 */
export const healthRoute: PublicRoute = {
  method: 'GET',
  template: ROUTES.health,
  signed: false,
  handle: async ({ deps }) => {
    try {
      await deps.store.lookup(NO_SUCH_NAME);
      return { status: 200, body: { status: 'ok' } };
    } catch {
      return { status: 503, body: { status: 'unavailable' } };
    }
  },
};
