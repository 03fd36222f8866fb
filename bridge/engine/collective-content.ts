/**
 * How the engine keeps a fetched letter or collective message in the delivery ledger between
 * fetching it and showing it (the store seals the bytes under the vault key).
 */
import { z } from 'zod';
import { KomradeError } from '../../common/errors/index.js';
import { decodeCanonical, encodeCanonical, keyHolderSchema } from '../../common/wire/index.js';
import type { CollectiveMessageForChat, LetterForChat } from '../chat-surface/chat-surface.js';

const contentSchema = z.strictObject({
  collective: z.string().max(64),
  from: z.string().max(64),
  senderKeyHolder: keyHolderSchema.nullable(),
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

const letterSchema = z.strictObject({
  from: z.string().max(64),
  to: z.string().max(64),
  sentAt: z.number().int().nonnegative(),
  text: z.string(),
  firstContact: z.boolean(),
  senderKeyHolder: keyHolderSchema.nullable(),
  post: z.boolean(),
});

/** Encodes a verified letter, as it is to be shown, for the ledger (it travels once). */
export function encodeLetterContent(letter: LetterForChat): Uint8Array {
  return encodeCanonical({
    from: letter.from,
    to: letter.to,
    sentAt: letter.sentAt,
    text: letter.text,
    firstContact: letter.firstContact,
    senderKeyHolder: letter.senderKeyHolder,
    post: letter.post,
  });
}

/**
 * Reads back what {@link encodeLetterContent} wrote.
 * @throws `DECODE_FAILED` for anything else
 */
export function decodeLetterContent(bytes: Uint8Array): LetterForChat {
  const parsed = letterSchema.safeParse(decodeCanonical(bytes, 'letter'));
  if (!parsed.success) {
    throw new KomradeError('DECODE_FAILED', 'A waiting letter has the wrong shape.');
  }
  return parsed.data;
}
