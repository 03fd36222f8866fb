/**
 * World-feed posts: signed by the author, sealed to the Operator's `@komrades` key, kept for the
 * number of days the author chose, and served back re-sealed to each reader.
 */
import { z } from 'zod';
import { openSeal, seal, verifyDetached } from '../crypto/index.js';
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import { decodeCanonical, encodeCanonical } from './canonical.js';
import { ID_BYTES, MAX_FEED_PAGE, MAX_POST_BODY_BYTES, MAX_POST_DAYS } from './limits.js';
import { isCanonicalName } from './names.js';
import { parseWith, rawBytes } from './schema.js';
import { TAGS, signValue, unwrapSignedBytes } from './signed.js';

const postSchema = z.strictObject({
  v: z.literal(1),
  from: z.string().max(32).refine(isCanonicalName, 'not a canonical name'),
  postedAt: z.number().int().nonnegative(),
  id: rawBytes().refine((b) => b.length === ID_BYTES, `must be ${ID_BYTES} bytes`),
  days: z.number().int().min(1).max(MAX_POST_DAYS),
  body: z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_POST_BODY_BYTES, 'body too long'),
});

/** A post's signed content. */
export type Post = z.output<typeof postSchema>;

const signedPostSchema = z.strictObject({
  signed: rawBytes().refine((b) => b.length <= MAX_POST_BODY_BYTES + 512),
  sig: rawBytes().refine((b) => b.length === 64),
});

/** A post as carried: the exact signed bytes and the author's signature. */
export type SignedPost = z.output<typeof signedPostSchema>;

/** A post whose shape is checked but whose signature is not yet. */
export interface OpenedPost {
  readonly post: Post;
  readonly signed: Uint8Array;
  readonly sig: Uint8Array;
}

/** Signs a post with the author's key and returns the carried form. */
export function signPost(post: Post, authorSignSecret: Uint8Array): SignedPost {
  const { bytes, sig } = signValue(TAGS.post, post, authorSignSecret);
  return { signed: bytes, sig };
}

/** Signs a post and seals it to the Operator's `@komrades` key. */
export function sealPost(
  post: Post,
  authorSignSecret: Uint8Array,
  feedBoxPublic: Uint8Array,
): Uint8Array {
  return seal(encodeCanonical(signPost(post, authorSignSecret)), feedBoxPublic);
}

/** Decodes and shape-checks a carried post. */
export function decodeSignedPost(carried: SignedPost): Result<OpenedPost> {
  try {
    const post = parseWith(
      postSchema,
      unwrapSignedBytes(carried.signed, TAGS.post, 'post'),
      'POST_INVALID',
      'post',
    );
    if (!post.ok) return post;
    return ok({ post: post.value, signed: carried.signed, sig: carried.sig });
  } catch (cause) {
    return err(new KomradeError('POST_INVALID', 'Post is malformed.', { cause }));
  }
}

/** Opens a post sealed to the `@komrades` key (the Operator's side). */
export function openSealedPost(
  sealed: Uint8Array,
  feedBoxPublic: Uint8Array,
  feedBoxSecret: Uint8Array,
): Result<OpenedPost> {
  const plaintext = openSeal(sealed, feedBoxPublic, feedBoxSecret);
  if (plaintext === undefined) {
    return err(
      new KomradeError('POST_INVALID', 'Post could not be decrypted with the `@komrades` key.'),
    );
  }
  try {
    const carried = parseWith(
      signedPostSchema,
      decodeCanonical(plaintext, 'post'),
      'POST_INVALID',
      'post',
    );
    return carried.ok ? decodeSignedPost(carried.value) : carried;
  } catch (cause) {
    return err(new KomradeError('POST_INVALID', 'Post is malformed.', { cause }));
  }
}

/** True when the author's registered key signed this post. */
export function verifyPost(opened: OpenedPost, registeredSignPublic: Uint8Array): boolean {
  return verifyDetached(opened.sig, opened.signed, registeredSignPublic);
}

const feedPageSchema = z.strictObject({
  posts: z.array(signedPostSchema).max(MAX_FEED_PAGE),
  next: z.string().max(200).nullable(),
});

/** A page of the feed as the reader receives it, once opened. */
export type FeedPage = z.output<typeof feedPageSchema>;

/** Seals a feed page to a reader (the Operator's side). */
export function sealFeedPage(page: FeedPage, readerBoxPublic: Uint8Array): Uint8Array {
  return seal(encodeCanonical(page), readerBoxPublic);
}

/** Opens a feed page sealed to the reader. */
export function openFeedPage(
  sealed: Uint8Array,
  readerBoxPublic: Uint8Array,
  readerBoxSecret: Uint8Array,
): Result<FeedPage> {
  const plaintext = openSeal(sealed, readerBoxPublic, readerBoxSecret);
  if (plaintext === undefined) {
    return err(new KomradeError('DECODE_FAILED', 'Feed page could not be decrypted.'));
  }
  try {
    return parseWith(
      feedPageSchema,
      decodeCanonical(plaintext, 'feed page'),
      'DECODE_FAILED',
      'feed page',
    );
  } catch (cause) {
    return err(new KomradeError('DECODE_FAILED', 'Feed page is malformed.', { cause }));
  }
}
