/** Which letters are too old to take: their ids may be gone from the processed-ids store. */
import { PROCESSED_LETTER_RETENTION_MS } from '../local-store/local-store.js';

/**
 * True when a letter's signed `sentAt` is older than the processed ids are kept
 * ({@link PROCESSED_LETTER_RETENTION_MS}): it could be a replay nobody can recognise, so it is
 * refused.
 */
export function isLetterTooOld(sentAt: number, now: number): boolean {
  return sentAt < now - PROCESSED_LETTER_RETENTION_MS;
}
