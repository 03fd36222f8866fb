/** POST /v1/mail/fetch: the requester's oldest letters, after deleting those it acks. */
import { ROUTES, fetchRequestSchema, toBase64url } from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';

/**
 * Oldest first; letters stay until acked, so a lost answer loses nothing. A collective message's
 * letter also carries the shared `body` (its `sealed` is then the member's key envelope).
 *
 * `ack` deletes first, exactly as the ack route does (only the requester's own letters; others'
 * ids are silently ignored), in the same write turn the read then sees: the answer never holds a
 * letter just acked. As for the ack route, the answer leaves only once the server's
 * `store.durable()` resolved: for a turn that deleted, after the WAL is scrubbed of those bytes.
 */
export const fetchMailRoute: SignedRoute = {
  method: 'POST',
  template: ROUTES.fetch,
  signed: true,
  handle: async ({ deps, body, now, signer }) => {
    const request = parseBody(fetchRequestSchema, body, 'fetch request');
    const deleted =
      request.ack === undefined ? undefined : await deps.store.ack(signer.name, request.ack);
    const max = deps.config.mail.fetchLetters;
    const limit = Math.min(request.limit ?? max, max);
    const { letters, more } = await deps.store.fetch(signer.name, limit, now);
    return {
      status: 200,
      body: {
        letters: letters.map((letter) => ({
          id: toBase64url(letter.id),
          sealed: toBase64url(letter.sealed),
          receivedAt: letter.receivedAt,
          ...(letter.body === undefined ? {} : { body: toBase64url(letter.body) }),
        })),
        more,
        ...(deleted === undefined ? {} : { deleted }),
      },
    };
  },
};
