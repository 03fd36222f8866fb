/**
 * Seals a collective message to its members so that one member's unusable key does not stop it
 * reaching the others.
 */
import {
  sealCollectiveMessage,
  type CollectiveMessage,
  type CollectiveRecipient,
  type SealedCollectiveMessage,
} from '../../common/collectives/index.js';
import { generateIdentityKeys, isValidBoxKey } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { recipientFailure } from './recipient-failure.js';
import type { RecipientFailure } from './views.js';

/** A member to seal to: their registered box key, or why it could not be had. */
export type MemberKey =
  | CollectiveRecipient
  | { readonly name: string; readonly boxKey?: undefined; readonly error: unknown };

/** A sealed message and the members it could not be sealed to. */
export interface MemberSealing {
  readonly sealed: SealedCollectiveMessage;
  readonly failed: readonly RecipientFailure[];
}

// The Operator takes a collective message only with a key envelope for every current member, so
// a member whose key nothing can be sealed to gets one sealed to a throwaway key: nobody can
// open it (as nobody could open one sealed to their unusable key), and the rest still get it.
function throwawayBoxKey(): Uint8Array {
  const keys = generateIdentityKeys();
  keys.signSecret.fill(0);
  keys.boxSecret.fill(0);
  return keys.boxPublic;
}

/**
 * Signs `message` once and seals its content key to each member; members whose key is missing
 * or unsafe (e.g. a low-order X25519 point) are reported in `failed` instead of failing all.
 */
export function sealToMembers(
  message: CollectiveMessage,
  signSecret: Uint8Array,
  members: readonly MemberKey[],
): MemberSealing {
  const failed: RecipientFailure[] = [];
  const recipients = members.map((member): CollectiveRecipient => {
    if (member.boxKey !== undefined && isValidBoxKey(member.boxKey)) {
      return { name: member.name, boxKey: member.boxKey };
    }
    const error =
      member.boxKey === undefined
        ? member.error
        : new KomradeError('KEY_INVALID', `@${member.name}'s box key is unsafe.`);
    failed.push(recipientFailure(member.name, error));
    return { name: member.name, boxKey: throwawayBoxKey() };
  });
  return { sealed: sealCollectiveMessage(message, signSecret, recipients), failed };
}
