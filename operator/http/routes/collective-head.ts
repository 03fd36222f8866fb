/** POST /v1/collectives/head: where a collective's log ends. */
import { COLLECTIVE_ROUTES, collectiveHeadRequestSchema } from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';
import { collectiveHeadJson } from './collective-json.js';

/**
 * Any registered komrade may ask (a newcomer needs the head to draft a join request).
 * @throws KomradeError `NAME_INVALID`, `NAME_UNKNOWN`
 */
export const collectiveHeadRoute: SignedRoute = {
  method: 'POST',
  template: COLLECTIVE_ROUTES.head,
  signed: true,
  handle: async ({ deps, body }) => {
    const { collective } = parseBody(collectiveHeadRequestSchema, body, 'head request');
    const head = await deps.collectives.head(collective);
    return { status: 200, body: collectiveHeadJson(head) };
  },
};
