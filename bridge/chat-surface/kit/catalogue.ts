/**
 * The catalogue: every view worded once, for every surface. A new view kind that has no words
 * fails to compile here.
 */
import { collectiveText } from './collectives/collective-command-texts.js';
import { commonText } from './common-texts.js';
import { feedText } from './feed/feed-texts.js';
import { identityText } from './identity/identity-texts.js';
import { letterText } from './letters/letter-texts.js';
import type { Rich } from './rich-text.js';
import { render, type Surface } from './surface.js';
import type { View } from './views.js';

type Wording<V> = (view: V, surface: Surface) => Rich;

/** Which feature words which view kinds (exhaustive: every kind is listed exactly once). */
const WORDINGS: { readonly [K in View['kind']]: Wording<Extract<View, { kind: K }>> } = {
  'no-identity': commonText,
  'not-registered': commonText,
  busy: commonText,
  usage: commonText,
  'unknown-command': commonText,
  error: commonText,
  registered: identityText,
  'already-registered': identityText,
  whoami: identityText,
  verified: identityText,
  help: identityText,
  'collective-created': collectiveText,
  'join-requested': collectiveText,
  vouched: collectiveText,
  pending: collectiveText,
  members: collectiveText,
  constitution: collectiveText,
  proposals: collectiveText,
  proposed: collectiveText,
  voted: collectiveText,
  'no-such-proposal': collectiveText,
  left: collectiveText,
  said: collectiveText,
  collectives: collectiveText,
  'letter-sent': letterText,
  inbox: letterText,
  requests: letterText,
  accepted: letterText,
  blocked: letterText,
  'not-a-letter': letterText,
  posted: feedText,
  feed: feedText,
  'posted-to-followers': feedText,
  followed: feedText,
  unfollowed: feedText,
  followers: feedText,
  following: feedText,
};

/** The words of `view` on `surface`, as rich text. */
export function textOf(view: View, surface: Surface): Rich {
  const wording = WORDINGS[view.kind] as Wording<View>;
  return wording(view, surface);
}

/** The words of `view` on `surface`, rendered in its markup. */
export const say = (view: View, surface: Surface): string => render(textOf(view, surface), surface);
