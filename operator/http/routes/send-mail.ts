/** POST /v1/mail/send: deposit a batch of sealed letters, all or none. */
import { KomradeError } from '../../../common/errors/index.js';
import {
  ROUTES,
  isCanonicalName,
  sendRequestSchema,
  toBase64url,
} from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';

const DAY_MS = 86_400_000;

/**
 * Stores only what delivery needs; who sent a letter is inside its seal, never here. Errors name
 * the failing letter by index, not the recipient. Held waits on the recipients are woken once the
 * letters are durable.
 * @throws KomradeError `BATCH_TOO_LARGE`, `LETTER_TOO_LARGE`, `NAME_INVALID`, `NAME_UNKNOWN`,
 * `MAILBOX_FULL`
 */
export const sendMailRoute: SignedRoute = {
  method: 'POST',
  template: ROUTES.send,
  signed: true,
  handle: async ({ deps, body, now }) => {
    const { letters } = parseBody(sendRequestSchema, body, 'send request');
    const { mail } = deps.config;
    if (letters.length > mail.maxBatchLetters) {
      throw new KomradeError(
        'BATCH_TOO_LARGE',
        `A batch may hold at most ${mail.maxBatchLetters} letters.`,
      );
    }
    const recipients = new Set<string>();
    for (const [index, letter] of letters.entries()) {
      if (letter.sealed.length > mail.maxSealedLetterBytes) {
        throw new KomradeError(
          'LETTER_TOO_LARGE',
          `letters.${index}.sealed: larger than ${mail.maxSealedLetterBytes} bytes.`,
        );
      }
      if (!isCanonicalName(letter.to)) {
        throw new KomradeError('NAME_INVALID', `letters.${index}.to: not a canonical name.`);
      }
    }
    for (const [index, letter] of letters.entries()) {
      if (recipients.has(letter.to)) continue;
      if ((await deps.store.lookup(letter.to)) === undefined) {
        throw new KomradeError('NAME_UNKNOWN', `letters.${index}.to: no komrade by that name.`);
      }
      recipients.add(letter.to);
    }
    const ids = await deps.store.deposit(letters, {
      receivedAt: now,
      expiresAt: now + mail.expireDays * DAY_MS,
      quota: mail.mailboxQuotaLetters,
    });
    // Wake waits only for letters that can no longer be lost.
    await deps.store.durable();
    deps.mailWaiters.notify(recipients);
    return { status: 201, body: { ids: ids.map(toBase64url), receivedAt: now } };
  },
};
