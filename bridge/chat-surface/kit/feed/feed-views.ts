/** What the feed and follow commands answer with. */
import type { FeedPost } from '../../../../client/index.js';

export type FeedCommandView =
  | { readonly kind: 'posted'; readonly expiresAt: number }
  /**
   * A page of the world feed, newest first. `next`: the cursor of the older page (`null` at the
   * end), for the surface's paging; `older`: this page is not the first.
   */
  | {
      readonly kind: 'feed';
      readonly posts: readonly FeedPost[];
      readonly next: string | null;
      readonly older: boolean;
    }
  /** A post sealed to each of `followers` (none: nothing was sent). */
  | { readonly kind: 'posted-to-followers'; readonly followers: number }
  /** `added`: false when already followed. */
  | { readonly kind: 'followed'; readonly name: string; readonly added: boolean }
  /** `removed`: false when not followed. */
  | { readonly kind: 'unfollowed'; readonly name: string; readonly removed: boolean }
  | { readonly kind: 'followers'; readonly names: readonly string[] }
  | { readonly kind: 'following'; readonly names: readonly string[] };
