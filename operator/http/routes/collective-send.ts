/** POST /v1/collectives/send: one message to every other member, its body stored once. */
import {
  COLLECTIVE_ROUTES,
  collectiveSendRequestSchema,
  toBase64url,
} from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';

/**
 * `keys` must name every current member but the sender, each once. Each member then fetches a
 * letter whose `sealed` is its key envelope and whose `body` is the shared body.
 * @throws KomradeError `BAD_REQUEST` (a name twice, the sender named), `NAME_INVALID`,
 * `LETTER_TOO_LARGE`, `NAME_UNKNOWN`, `NOT_MEMBER`, `COLLECTIVE_CONFLICT` (membership changed),
 * `MAILBOX_FULL`
 */
export const collectiveSendRoute: SignedRoute = {
  method: 'POST',
  template: COLLECTIVE_ROUTES.send,
  signed: true,
  handle: async ({ deps, body, now, signer }) => {
    const request = parseBody(collectiveSendRequestSchema, body, 'collective send request');
    const sent = await deps.collectives.send(
      signer,
      request.collective,
      { body: request.body, keys: request.keys },
      { now, config: deps.config },
    );
    // Every member named got a letter; wake their waits once it can no longer be lost.
    await deps.store.durable();
    deps.mailWaiters.notify(request.keys.map((key) => key.to));
    return {
      status: 201,
      body: { id: toBase64url(sent.id), receivedAt: sent.receivedAt, recipients: sent.recipients },
    };
  },
};
