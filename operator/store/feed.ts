/** The Feed port: world-feed posts, kept until the day their author chose. */

/** A stored post: the author's exact signed bytes and signature, and when it expires. */
export interface StoredPost {
  readonly id: Uint8Array;
  /** Folded name of the author (the signer of the post request). */
  readonly author: string;
  readonly postedAt: number;
  readonly expiresAt: number;
  readonly signed: Uint8Array;
  readonly sig: Uint8Array;
}

/** A position in the feed: posts strictly older than it come next. */
export interface FeedPosition {
  readonly postedAt: number;
  readonly id: Uint8Array;
}

/** The world feed, newest first. */
export interface Feed {
  /**
   * Stores a post.
   * @throws KomradeError `POST_INVALID` when a post with that id already exists
   */
  publish(post: StoredPost): Promise<void>;
  /**
   * Unexpired posts, newest first (by postedAt, then id), strictly before `before` when given.
   */
  page(
    now: number,
    before: FeedPosition | undefined,
    limit: number,
  ): Promise<{ posts: StoredPost[]; more: boolean }>;
  /** Deletes posts that expired at or before `now`; returns how many. */
  sweepExpiredPosts(now: number): Promise<number>;
}
