/**
 * A letter as the Operator sees one (sealed, padded to a size class, the v2 frame inside) whose
 * ratchet layer is a stand-in: the signed letter sits where the ratchet message goes, so no
 * session is needed. For tests and benchmarks of the Operator, which never opens a letter; a
 * client refuses it (no session opens it).
 */
import { randomBytes } from '../../common/crypto/index.js';
import { sealRatchetLetter, signLetter, type LetterKind } from '../../common/wire/index.js';

/** Who signs a framed letter. */
export interface FramedLetterSender {
  readonly name: string;
  readonly keys: { readonly signSecret: Uint8Array };
}

/** A sealed letter from `from` to `to` (whose box key seals it) with a body of `text`. */
export function framedLetter(
  from: FramedLetterSender,
  to: { readonly name: string; readonly boxPublic: Uint8Array },
  text: string,
  kind: LetterKind = 'text',
): Uint8Array {
  const signed = signLetter(
    {
      v: 2,
      kind,
      from: from.name,
      to: to.name,
      sentAt: Date.now(),
      id: randomBytes(16),
      body: text,
    },
    from.keys.signSecret,
  );
  return sealRatchetLetter({ v: 2, from: from.name, type: 'message', msg: signed }, to.boxPublic);
}
