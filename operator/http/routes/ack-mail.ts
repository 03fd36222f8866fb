/** POST /v1/mail/ack: delete downloaded letters for good. */
import { ROUTES, ackRequestSchema } from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';

/**
 * Deletes only the requester's own letters; ids of anyone else's are silently ignored. A
 * collective message's shared body goes, in the same transaction, with its last letter.
 */
export const ackMailRoute: SignedRoute = {
  method: 'POST',
  template: ROUTES.ack,
  signed: true,
  handle: async ({ deps, body, signer }) => {
    const { ids } = parseBody(ackRequestSchema, body, 'ack request');
    const deleted = await deps.store.ack(signer.name, ids);
    return { status: 200, body: { deleted } };
  },
};
