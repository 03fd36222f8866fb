/**
 * Seals a collective message for the members of now, as the engine's client verified them: the
 * outbox needs it twice, when a message is written and again when the membership changed before
 * the Operator took it (`COLLECTIVE_CONFLICT`).
 */
import type { CollectiveMessage } from '../../common/collectives/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { MAX_COLLECTIVE_BODY_BYTES, fromBase64url } from '../../common/wire/index.js';
import type { KomradeClient } from '../../client/index.js';
import { isRecipientFault } from '../../client/index.js';
import { sealToMembers, type MemberKey, type MemberSealing } from '../../client/index.js';

/**
 * Signs `message` and seals it to every current member but its sender, from the client's own
 * verified copy of the log and the members' registered keys. A member whose record or key cannot
 * be used is reported in `failed`; the others still get it.
 * @returns `undefined` when nobody else is a member (nothing to send)
 * @throws `NOT_MEMBER` when the sender is not (or no longer) a member, `LETTER_TOO_LARGE`
 */
export async function sealForMembers(
  client: KomradeClient,
  signSecret: Uint8Array,
  message: CollectiveMessage,
): Promise<MemberSealing | undefined> {
  const view = await client.collective(message.collective);
  if (view.standing !== 'member') {
    throw new KomradeError('NOT_MEMBER', `You are not a member of @${message.collective}.`);
  }
  const members: MemberKey[] = [];
  for (const member of view.members) {
    if (member.name === message.from) continue;
    try {
      const boxKey = fromBase64url((await client.lookup(member.name)).boxKey);
      if (boxKey === undefined) throw new KomradeError('OPERATOR_ERROR', 'Bad member key.');
      members.push({ name: member.name, boxKey });
    } catch (error) {
      if (!isRecipientFault(error)) throw error;
      members.push({ name: member.name, error });
    }
  }
  if (members.length === 0) return undefined;
  const sealing = sealToMembers(message, signSecret, members);
  if (sealing.sealed.body.length > MAX_COLLECTIVE_BODY_BYTES) {
    throw new KomradeError(
      'LETTER_TOO_LARGE',
      `The sealed message is ${sealing.sealed.body.length} bytes; a collective message may have at most ${MAX_COLLECTIVE_BODY_BYTES}.`,
    );
  }
  return sealing;
}
