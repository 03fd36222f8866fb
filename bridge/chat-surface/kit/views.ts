/**
 * Every view a command answers with: what happened, as data. The catalogue (`textOf`) words
 * each kind once for every surface.
 */
import type { ArgProblem, CommandSpec } from './command.js';
import type { CollectiveCommandView } from './collectives/collective-views.js';
import type { FeedCommandView } from './feed/feed-views.js';
import type { IdentityCommandView } from './identity/identity-views.js';
import type { LetterCommandView } from './letters/letter-views.js';

/** Answers every command may give. */
export type CommonView =
  /** The command needs an identity, and the caller has none here. */
  | { readonly kind: 'no-identity' }
  /** The command needs a registered name, and the caller's registration never finished. */
  | { readonly kind: 'not-registered' }
  /** A proof of work of the caller's is still running (one at a time). */
  | { readonly kind: 'busy' }
  /** Wrong use: how to use the commands typed alike, and what was wrong if known. */
  | { readonly kind: 'usage'; readonly specs: readonly CommandSpec[]; readonly problem: ArgProblem }
  /** A command this surface does not know. */
  | { readonly kind: 'unknown-command'; readonly typed: string }
  /** A failure (a `KomradeError` is worded by its code; anything else as "something went wrong"). */
  | { readonly kind: 'error'; readonly error: unknown };

export type View =
  CommonView | IdentityCommandView | CollectiveCommandView | LetterCommandView | FeedCommandView;
