/** POST /v1/collectives/append: the next event of a collective's log. */
import { COLLECTIVE_ROUTES, appendEventRequestSchema } from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';
import { collectiveHeadJson } from './collective-json.js';

/**
 * The requester must be the event's actor. Of concurrent appends on one head, one wins; the
 * others get `COLLECTIVE_CONFLICT` and redo their event on the new head.
 * @throws KomradeError `BAD_REQUEST`, `CLOCK_SKEW`, `NAME_UNKNOWN`, `COLLECTIVE_CONFLICT`,
 * `COLLECTIVE_RULE`
 */
export const collectiveAppendRoute: SignedRoute = {
  method: 'POST',
  template: COLLECTIVE_ROUTES.append,
  signed: true,
  handle: async ({ deps, body, now, signer }) => {
    const { event } = parseBody(appendEventRequestSchema, body, 'append request');
    const head = await deps.collectives.append(signer, event, {
      now,
      config: deps.config,
    });
    return { status: 201, body: collectiveHeadJson(head) };
  },
};
