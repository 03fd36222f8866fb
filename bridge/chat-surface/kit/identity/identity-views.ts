/** What the identity commands answer with. */
import type { WhoAmI } from '../../../../client/index.js';
import type { IdentityVerdict } from '../../../engine/registry-watch.js';

export type IdentityCommandView =
  | { readonly kind: 'registered'; readonly name: string }
  | { readonly kind: 'already-registered'; readonly name: string }
  | { readonly kind: 'whoami'; readonly me: WhoAmI }
  /** `/verifyme`: whether the registry log holds only this identity's keys for its name. */
  | { readonly kind: 'verified'; readonly verdict: IdentityVerdict }
  /** What the surface is and its commands. `first`: the greeting of a first contact (`/start`). */
  | { readonly kind: 'help'; readonly first: boolean };
