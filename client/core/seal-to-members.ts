/**
 * Seals a collective message to its members: the body once, and the content key to each member
 * through the sender's ratchet session with them, so that one member's unusable keys do not stop
 * it reaching the others.
 */
import {
  decoyKeyEnvelope,
  sealCollectiveBody,
  sealKeyEnvelope,
  type CollectiveMessage,
  type SealedCollectiveMessage,
} from '../../common/collectives/index.js';
import { isValidBoxKey } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import type { RatchetMessage, RatchetPeer } from '../ratchet/index.js';
import { isRecipientFault, recipientFailure } from './recipient-failure.js';
import type { RecipientFailure } from './views.js';

/** A member to seal to: their registered keys (from a verified receipt), or why there are none. */
export type MemberKey =
  | {
      readonly name: string;
      readonly boxKey: Uint8Array;
      readonly ratchetKey: Uint8Array | null;
      readonly error?: undefined;
    }
  | { readonly name: string; readonly boxKey?: undefined; readonly error: unknown };

/** What sealing needs of the ratchet (the identity's one `Ratchet`). */
export interface MemberRatchet {
  encryptMany(
    peers: readonly RatchetPeer[],
    plaintext: Uint8Array,
  ): Promise<(RatchetMessage | { readonly error: unknown })[]>;
}

/** A sealed message and the members it could not be sealed to. */
export interface MemberSealing {
  readonly sealed: SealedCollectiveMessage;
  readonly failed: readonly RecipientFailure[];
}

/** Checks the sealed body before any session moves (e.g. against the Operator's size limit). */
export type BodyCheck = (body: Uint8Array) => void;

/**
 * Signs `message` once, seals its body once, and sends its content key to each member in the
 * sender's ratchet session with them (one store commit for all). Members whose keys are missing
 * or unsafe, who have no ratchet key, or whose prekeys are missing or forged are reported in
 * `failed` and get an envelope nobody can open (the Operator wants one for every member).
 * @throws what `checkBody` throws (before any session moves), and what is not one member's fault
 * (the Operator unreachable, tokens exhausted…): then nothing is sent
 */
export async function sealToMembers(
  message: CollectiveMessage,
  signSecret: Uint8Array,
  members: readonly MemberKey[],
  ratchet: MemberRatchet,
  checkBody: BodyCheck = () => undefined,
): Promise<MemberSealing> {
  const failures = new Map<string, unknown>();
  const peers: RatchetPeer[] = [];
  const boxKeys = new Map<string, Uint8Array>();
  for (const member of members) {
    if (member.boxKey === undefined) failures.set(member.name, member.error);
    else if (!isValidBoxKey(member.boxKey)) {
      failures.set(
        member.name,
        new KomradeError('KEY_INVALID', `@${member.name}'s box key is unsafe.`),
      );
    } else {
      peers.push({ name: member.name, ratchetKey: member.ratchetKey });
      boxKeys.set(member.name, member.boxKey);
    }
  }
  const { body, contentKey } = sealCollectiveBody(message, signSecret);
  let envelopes: Map<string, Uint8Array>;
  try {
    checkBody(body);
    const messages = await ratchet.encryptMany(peers, contentKey);
    envelopes = new Map();
    for (const [index, peer] of peers.entries()) {
      const sent = messages[index];
      const boxKey = boxKeys.get(peer.name);
      try {
        if (sent === undefined || boxKey === undefined) throw new Error('one answer per peer');
        if ('error' in sent) throw sent.error;
        envelopes.set(
          peer.name,
          sealKeyEnvelope({ v: 2, from: message.from, ...sent }, { name: peer.name, boxKey }),
        );
      } catch (error) {
        if (!isRecipientFault(error)) throw error;
        failures.set(peer.name, error);
      }
    }
  } finally {
    contentKey.fill(0);
  }
  const failed: RecipientFailure[] = [];
  const keys = members.map((member) => {
    const sealed = envelopes.get(member.name);
    if (sealed !== undefined) return { to: member.name, sealed };
    failed.push(recipientFailure(member.name, failures.get(member.name)));
    return { to: member.name, sealed: decoyKeyEnvelope() };
  });
  return { sealed: { body, keys }, failed };
}
