/** POST /v1/mail/fetch: the requester's oldest letters. */
import { ROUTES, fetchRequestSchema, toBase64url } from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';

/**
 * Oldest first; letters stay until acked, so a lost answer loses nothing. A collective message's
 * letter also carries the shared `body` (its `sealed` is then the member's key envelope).
 */
export const fetchMailRoute: SignedRoute = {
  method: 'POST',
  template: ROUTES.fetch,
  signed: true,
  handle: async ({ deps, body, now, signer }) => {
    const request = parseBody(fetchRequestSchema, body, 'fetch request');
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
      },
    };
  },
};
