/**
 * Seals a collective message for the members of now, as the engine's client verified them: the
 * outbox needs it twice, when a message is written and again when the membership changed before
 * the Operator took it (`COLLECTIVE_CONFLICT`).
 */
import {
  sealCollectiveMessage,
  type CollectiveMessage,
  type CollectiveRecipient,
  type SealedCollectiveMessage,
} from '../../common/collectives/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { MAX_COLLECTIVE_BODY_BYTES, fromBase64url } from '../../common/wire/index.js';
import type { KomradeClient } from '../client/komrade-client.js';

/**
 * Signs `message` and seals it to every current member but its sender, from the client's own
 * verified copy of the log and the members' registered keys.
 * @returns `undefined` when nobody else is a member (nothing to send)
 * @throws `NOT_MEMBER` when the sender is not (or no longer) a member, `LETTER_TOO_LARGE`
 */
export async function sealForMembers(
  client: KomradeClient,
  signSecret: Uint8Array,
  message: CollectiveMessage,
): Promise<SealedCollectiveMessage | undefined> {
  const view = await client.collective(message.collective);
  if (view.standing !== 'member') {
    throw new KomradeError('NOT_MEMBER', `You are not a member of @${message.collective}.`);
  }
  const recipients: CollectiveRecipient[] = [];
  for (const member of view.members) {
    if (member.name === message.from) continue;
    const boxKey = fromBase64url((await client.lookup(member.name)).boxKey);
    if (boxKey === undefined) throw new KomradeError('OPERATOR_ERROR', 'Bad member key.');
    recipients.push({ name: member.name, boxKey });
  }
  if (recipients.length === 0) return undefined;
  const sealed = sealCollectiveMessage(message, signSecret, recipients);
  if (sealed.body.length > MAX_COLLECTIVE_BODY_BYTES) {
    throw new KomradeError(
      'LETTER_TOO_LARGE',
      `The sealed message is ${sealed.body.length} bytes; a collective message may have at most ${MAX_COLLECTIVE_BODY_BYTES}.`,
    );
  }
  return sealed;
}
