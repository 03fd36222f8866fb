/** POST /v1/feed/post: publish a post sealed to the `@komrades` key. */
import { KomradeError } from '../../../common/errors/index.js';
import {
  CLOCK_SKEW_MS,
  ROUTES,
  openSealedPost,
  postRequestSchema,
  toBase64url,
  verifyPost,
} from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';

const DAY_MS = 86_400_000;

/**
 * The post must be signed by the same komrade who signed the request, with their registered key.
 * @throws KomradeError `POST_INVALID` (cannot open, bad days, stale time, duplicate id),
 * `BAD_SIGNATURE`
 */
export const postToFeedRoute: SignedRoute = {
  method: 'POST',
  template: ROUTES.post,
  signed: true,
  handle: async ({ deps, body, now, signer }) => {
    const { sealed } = parseBody(postRequestSchema, body, 'post request');
    const opened = openSealedPost(sealed, deps.keys.boxPublic, deps.keys.boxSecret);
    if (!opened.ok) throw opened.error;
    const { post } = opened.value;
    if (post.from !== signer.name) {
      throw new KomradeError('BAD_SIGNATURE', 'A post must come from the komrade who sends it.');
    }
    if (!verifyPost(opened.value, signer.signKey)) {
      throw new KomradeError('BAD_SIGNATURE', 'The post signature does not verify.');
    }
    const maxDays = deps.config.feed.maxPostDays;
    if (post.days < 1 || post.days > maxDays) {
      throw new KomradeError('POST_INVALID', `A post may last 1 to ${maxDays} days.`);
    }
    if (Math.abs(post.postedAt - now) > CLOCK_SKEW_MS) {
      throw new KomradeError(
        'POST_INVALID',
        "The post's time is too far from the Operator's clock.",
      );
    }
    const expiresAt = now + post.days * DAY_MS;
    await deps.store.publish({
      id: post.id,
      author: signer.name,
      postedAt: post.postedAt,
      expiresAt,
      signed: opened.value.signed,
      sig: opened.value.sig,
    });
    return { status: 201, body: { id: toBase64url(post.id), expiresAt } };
  },
};
