/** What the collective commands answer with. */
import type { Constitution } from '../../../../common/collectives/index.js';
import type {
  CollectiveView,
  ProposalView,
  VoteOutcome,
  VouchOutcome,
} from '../../../../client/index.js';

export type CollectiveCommandView =
  | { readonly kind: 'collective-created'; readonly name: string }
  | { readonly kind: 'join-requested'; readonly view: CollectiveView; readonly me: string }
  | { readonly kind: 'vouched'; readonly outcome: VouchOutcome }
  | { readonly kind: 'pending'; readonly view: CollectiveView }
  | { readonly kind: 'members'; readonly view: CollectiveView }
  | { readonly kind: 'constitution'; readonly view: CollectiveView }
  | { readonly kind: 'proposals'; readonly view: CollectiveView }
  | {
      readonly kind: 'proposed';
      readonly collective: string;
      readonly proposal: ProposalView;
      readonly current: Constitution | undefined;
    }
  | { readonly kind: 'voted'; readonly yes: boolean; readonly outcome: VoteOutcome }
  /** A vote on an id that is no open proposal: the open ones, to pick from. */
  | { readonly kind: 'no-such-proposal'; readonly proposal: number; readonly view: CollectiveView }
  /** `unlinked`: channels that carried the collective on the leaver's membership and no longer do. */
  | { readonly kind: 'left'; readonly collective: string; readonly unlinked: number }
  | { readonly kind: 'said'; readonly collective: string; readonly recipients: number }
  | { readonly kind: 'collectives'; readonly names: readonly string[] };
