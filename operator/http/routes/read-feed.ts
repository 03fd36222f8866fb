/** POST /v1/feed/page: a page of the world feed, sealed to the requester. */
import { isValidBoxKey } from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import {
  ROUTES,
  feedRequestSchema,
  sealFeedPage,
  toBase64url,
} from '../../../common/wire/index.js';
import { decodeFeedCursor, encodeFeedCursor } from '../feed-cursor.js';
import { parseBody, type SignedRoute } from '../route.js';

/**
 * Newest first, never an expired post (even before the sweeper ran), sealed to the requester's
 * registered box key so only registered komrades can read the feed.
 * @throws KomradeError `BAD_REQUEST` for a malformed cursor, `KEY_INVALID` when the requester's
 * box key (registered before keys were checked) is of low order: nothing can be sealed to it
 */
export const readFeedRoute: SignedRoute = {
  method: 'POST',
  template: ROUTES.feed,
  signed: true,
  handle: async ({ deps, body, now, signer }) => {
    const request = parseBody(feedRequestSchema, body, 'feed request');
    if (!isValidBoxKey(signer.boxKey)) {
      throw new KomradeError(
        'KEY_INVALID',
        'Your registered box key is of low order: nothing can be sealed to it. Register a new name with fresh keys.',
      );
    }
    const before = request.before === undefined ? undefined : decodeFeedCursor(request.before);
    const max = deps.config.feed.pageSize;
    const limit = Math.min(request.limit ?? max, max);
    const { posts, more } = await deps.store.page(now, before, limit);
    const last = posts.at(-1);
    const next = more && last !== undefined ? encodeFeedCursor(last) : null;
    const sealed = sealFeedPage(
      { posts: posts.map((post) => ({ signed: post.signed, sig: post.sig })), next },
      signer.boxKey,
    );
    return { status: 200, body: { sealed: toBase64url(sealed) } };
  },
};
