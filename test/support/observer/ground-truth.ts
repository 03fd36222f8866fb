/**
 * What really happened, known only to the test: each delivered letter opened with its recipient's
 * keys (from the komrades' keystores) says who signed it and what kind it is. The linker never
 * sees this.
 */
import { FileKeystore } from '../../../client/index.js';
import type { IdentityKeys } from '../../../common/crypto/index.js';
import { openLetter, type LetterKind } from '../../../common/wire/index.js';
import type { DeliveredLetter } from './delivered-letters.js';

/** One delivered letter as its recipient reads it. */
export interface TrueLetter {
  readonly key: string;
  readonly from: string;
  readonly to: string;
  readonly kind: LetterKind;
  readonly sentAt: number;
  readonly sealedLength: number;
}

/** Unlocks each komrade's keystore (`<home>/keystore.json`). */
export async function keysOfKomrades(
  homes: ReadonlyMap<string, string>,
  passphrase: string,
): Promise<Map<string, IdentityKeys>> {
  const out = new Map<string, IdentityKeys>();
  for (const [name, home] of homes) {
    const secrets = await new FileKeystore(`${home}/keystore.json`).open(passphrase);
    out.set(name, secrets.keys);
  }
  return out;
}

/**
 * Opens every delivered letter addressed to a komrade whose keys are known. Letters that do not
 * open as letters (none are expected) are left out and counted.
 */
export function openDelivered(
  letters: readonly DeliveredLetter[],
  keys: ReadonlyMap<string, IdentityKeys>,
): { readonly truth: Map<string, TrueLetter>; readonly unopened: number } {
  const truth = new Map<string, TrueLetter>();
  let unopened = 0;
  for (const letter of letters) {
    const recipient = keys.get(letter.to);
    const opened = recipient === undefined ? undefined : openLetter(letter.sealed, recipient);
    if (opened === undefined || !opened.ok) {
      unopened += 1;
      continue;
    }
    const { from, to, kind, sentAt } = opened.value.letter;
    truth.set(letter.key, {
      key: letter.key,
      from,
      to,
      kind,
      sentAt,
      sealedLength: letter.sealed.length,
    });
  }
  return { truth, unopened };
}

/** Who follows whom at the end (`follower>followee`): each pair's newest statement is a follow. */
export function trueFollows(truth: Iterable<TrueLetter>): Set<string> {
  const newest = new Map<string, TrueLetter>();
  for (const letter of truth) {
    if (letter.kind !== 'follow' && letter.kind !== 'unfollow') continue;
    const pair = `${letter.from}>${letter.to}`;
    const seen = newest.get(pair);
    if (seen === undefined || letter.sentAt > seen.sentAt) newest.set(pair, letter);
  }
  return new Set([...newest].filter(([, l]) => l.kind === 'follow').map(([pair]) => pair));
}
