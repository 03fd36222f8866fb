/** What sealed sizes say: learned by sealing follows and unfollows with the project's own code. */
import { generateIdentityKeys, randomBytes } from '../../../common/crypto/index.js';
import { ID_BYTES, sealLetter } from '../../../common/wire/index.js';

/** What the size of a letter says its kind is. */
export type SizeKind = 'follow' | 'unfollow' | 'statement' | 'unknown';

/**
 * What a follow and an unfollow weigh sealed, for every sender name length, learned by sealing
 * some with the project's own code (an Operator can run a client too).
 */
export class SizeProbe {
  readonly #keys = generateIdentityKeys();
  readonly #cache = new Map<
    string,
    { follow: Map<number, Set<number>>; unfollow: Map<number, Set<number>> }
  >();

  constructor(private readonly names: readonly string[]) {}

  #sizesFor(to: string) {
    const cached = this.#cache.get(to);
    if (cached !== undefined) return cached;
    const lengths = [...new Set(this.names.map((n) => n.length))];
    const table = {
      follow: new Map<number, Set<number>>(),
      unfollow: new Map<number, Set<number>>(),
    };
    for (const kind of ['follow', 'unfollow'] as const) {
      for (const length of lengths) {
        const sealed = sealLetter(
          {
            v: 1,
            kind,
            from: 'x'.repeat(length),
            to,
            sentAt: Date.now(),
            id: randomBytes(ID_BYTES),
            body: '',
          },
          this.#keys.signSecret,
          this.#keys.boxPublic,
        );
        const senders = table[kind].get(sealed.length) ?? new Set<number>();
        senders.add(length);
        table[kind].set(sealed.length, senders);
      }
    }
    this.#cache.set(to, table);
    return table;
  }

  /**
   * The kind a letter of `size` to `to` can be, and which sender name lengths fit it; with
   * `senderLength`, for a sender whose name has that length.
   */
  classify(
    size: number,
    to: string,
    senderLength?: number,
  ): { kind: SizeKind; senderLengths: Set<number> | undefined } {
    const table = this.#sizesFor(to);
    const fits = (lengths: Set<number> | undefined) =>
      senderLength === undefined || lengths === undefined
        ? lengths
        : lengths.has(senderLength)
          ? new Set([senderLength])
          : undefined;
    const follow = fits(table.follow.get(size));
    const unfollow = fits(table.unfollow.get(size));
    if (follow !== undefined && unfollow === undefined)
      return { kind: 'follow', senderLengths: follow };
    if (unfollow !== undefined && follow === undefined) {
      return { kind: 'unfollow', senderLengths: unfollow };
    }
    if (follow !== undefined && unfollow !== undefined) {
      return { kind: 'statement', senderLengths: new Set([...follow, ...unfollow]) };
    }
    return { kind: 'unknown', senderLengths: undefined };
  }
}
