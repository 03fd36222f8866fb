/** What the identity commands answer with. */
import type { WhoAmI } from '../../../../client/index.js';

export type IdentityCommandView =
  | { readonly kind: 'registered'; readonly name: string }
  | { readonly kind: 'already-registered'; readonly name: string }
  | { readonly kind: 'whoami'; readonly me: WhoAmI }
  /** What the surface is and its commands. `first`: the greeting of a first contact (`/start`). */
  | { readonly kind: 'help'; readonly first: boolean };
