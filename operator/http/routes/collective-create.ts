/** POST /v1/collectives/create: a new collective from its genesis and a proof of work. */
import { COLLECTIVE_ROUTES, createCollectiveRequestSchema } from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';
import { collectiveHeadJson } from './collective-json.js';

/**
 * The requester must be the genesis' actor (a founder). Collective names share the komrades'
 * namespace and cost the same proof of work.
 * @throws KomradeError `BAD_REQUEST`, `CLOCK_SKEW`, `NAME_INVALID`, `NAME_RESERVED`,
 * `BAD_PROOF_OF_WORK`, `NAME_TAKEN`, `COLLECTIVE_RULE` (e.g. a founder not registered)
 */
export const collectiveCreateRoute: SignedRoute = {
  method: 'POST',
  template: COLLECTIVE_ROUTES.create,
  signed: true,
  handle: async ({ deps, body, now, signer }) => {
    const request = parseBody(createCollectiveRequestSchema, body, 'create collective request');
    const head = await deps.collectives.create(signer, request.genesis, request.pow, {
      now,
      config: deps.config,
    });
    return { status: 201, body: collectiveHeadJson(head) };
  },
};
