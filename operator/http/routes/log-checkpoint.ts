/** GET /v1/log/checkpoint: the registry log's newest signed checkpoint. */
import { LOG_ROUTES } from '../../../common/wire/index.js';
import type { PublicRoute } from '../route.js';

/** `{ checkpoint }`: the C2SP note of the log's newest head, signed by the Operator's key. */
export const logCheckpointRoute: PublicRoute = {
  method: 'GET',
  template: LOG_ROUTES.checkpoint,
  signed: false,
  handle: async ({ deps }) => {
    const head = await deps.store.logHead();
    return { status: 200, body: { checkpoint: deps.checkpoints.note(head) } };
  },
};
