/**
 * What sealed sizes say: learned by sealing follows and unfollows with the project's own code. A
 * v2 letter is a ratchet message in a frame; what the ratchet adds is measured once here with
 * real libsignal sessions (a first message, and one in an established session), so the probe can
 * size any letter without a session of its own.
 */
import { generateIdentityKeys, randomBytes } from '../../../common/crypto/index.js';
import {
  ID_BYTES,
  RATCHET_MESSAGE_TYPES,
  sealRatchetLetter,
  signLetter,
  type Letter,
  type RatchetMessageType,
} from '../../../common/wire/index.js';
import { closeParties, openAt, ratchetLetter, ratchetParties } from '../ratchet-pair.js';

/**
 * The bytes a ratchet message adds to a plaintext whose length is a multiple of 16 (CBC pads
 * each plaintext up to the next multiple, adding 1 to 16 bytes), for each kind of message.
 */
async function measureRatchet(): Promise<Record<RatchetMessageType, number>> {
  const parties = ratchetParties(['probe_a', 'probe_b']);
  const [a, b] = parties as [(typeof parties)[0], (typeof parties)[0]];
  try {
    const plaintext = new Uint8Array(64);
    const first = await a.ratchet.encrypt(b.peer, plaintext);
    // Establish the session both ways, so the next message is an ordinary one.
    const letter = (from: string, to: string): Letter => ({
      v: 2,
      kind: 'follow',
      from,
      to,
      sentAt: Date.now(),
      id: randomBytes(ID_BYTES),
      body: '',
    });
    await openAt(b, await ratchetLetter(a, b, letter('probe_a', 'probe_b')), parties);
    await openAt(a, await ratchetLetter(b, a, letter('probe_b', 'probe_a')), parties);
    const next = await a.ratchet.encrypt(b.peer, plaintext);
    if (first.type !== 'prekey' || next.type !== 'message') throw new Error('unexpected types');
    return { prekey: first.msg.length - 64, message: next.msg.length - 64 };
  } finally {
    closeParties(parties);
  }
}

const RATCHET_OVERHEAD = await measureRatchet();

/** The length of the ratchet message carrying `plaintextLength` bytes. */
const ratchetLength = (type: RatchetMessageType, plaintextLength: number) =>
  RATCHET_OVERHEAD[type] + Math.floor(plaintextLength / 16) * 16;

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
        const from = 'x'.repeat(length);
        const signed = signLetter(
          { v: 2, kind, from, to, sentAt: Date.now(), id: randomBytes(ID_BYTES), body: '' },
          this.#keys.signSecret,
        );
        // A first message and one in an established session, sealed as a client seals them.
        for (const type of RATCHET_MESSAGE_TYPES) {
          const msg = new Uint8Array(ratchetLength(type, signed.length));
          const sealed = sealRatchetLetter({ v: 2, from, type, msg }, this.#keys.boxPublic);
          const senders = table[kind].get(sealed.length) ?? new Set<number>();
          senders.add(length);
          table[kind].set(sealed.length, senders);
        }
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
