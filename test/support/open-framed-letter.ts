/**
 * The counterpart of {@link framedLetter} for tests of the Operator: opens the seal and the frame,
 * and verifies the signed letter standing where the ratchet message goes, so a test can show the
 * Operator delivered a letter byte for byte. No client accepts such a letter.
 */
import type { IdentityKeys } from '../../common/crypto/index.js';
import {
  openRatchetLetter,
  openSignedLetter,
  verifyLetter,
  type Letter,
} from '../../common/wire/index.js';

/** The letter inside a {@link framedLetter}, verified against `senderSignPublic`; throws if not. */
export function openFramedLetter(
  sealed: Uint8Array,
  recipient: { readonly name: string; readonly keys: IdentityKeys },
  senderSignPublic: Uint8Array,
): Letter {
  const outer = openRatchetLetter(sealed, recipient.keys);
  if (!outer.ok) throw outer.error;
  const opened = openSignedLetter(outer.value.msg);
  if (!opened.ok) throw opened.error;
  const verified = verifyLetter(opened.value, senderSignPublic, recipient.name, outer.value.from);
  if (!verified.ok) throw verified.error;
  return verified.value;
}
