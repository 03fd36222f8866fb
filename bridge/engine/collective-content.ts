/**
 * How the engine keeps a fetched collective message in the delivery ledger between fetching it
 * and showing it (the store seals the bytes under the vault key).
 */
import { z } from 'zod';
import { KomradeError } from '../../common/errors/index.js';
import { KEY_HOLDERS, decodeCanonical, encodeCanonical } from '../../common/wire/index.js';
import type { CollectiveMessageForChat } from '../chat-surface/chat-surface.js';

const contentSchema = z.strictObject({
  collective: z.string().max(64),
  from: z.string().max(64),
  senderKeyHolder: z.enum(KEY_HOLDERS).nullable(),
  sentAt: z.number().int().nonnegative(),
  text: z.string(),
  id: z.string().max(64),
});

/** Encodes a verified message for the ledger. */
export function encodeCollectiveContent(message: CollectiveMessageForChat): Uint8Array {
  return encodeCanonical({
    collective: message.collective,
    from: message.from,
    senderKeyHolder: message.senderKeyHolder,
    sentAt: message.sentAt,
    text: message.text,
    id: message.id,
  });
}

/**
 * Reads back what {@link encodeCollectiveContent} wrote.
 * @throws `DECODE_FAILED` for anything else
 */
export function decodeCollectiveContent(bytes: Uint8Array): CollectiveMessageForChat {
  const parsed = contentSchema.safeParse(decodeCanonical(bytes, 'collective message'));
  if (!parsed.success) {
    throw new KomradeError('DECODE_FAILED', 'A waiting collective message has the wrong shape.');
  }
  return parsed.data;
}
