/** POST /v2/mail/send: one sealed letter, paid for with one anonymous token; no sender at all. */
import { blake2b } from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import {
  TOKEN_ROUTES,
  anonymousSendRequestSchema,
  isCanonicalName,
  isSealedSizeClass,
  toBase64url,
  type AnonymousSendRequest,
} from '../../../common/wire/index.js';
import type { OperatorConfig } from '../../config/operator-config.js';
import type { MailWaiters } from '../../mail/mail-waiters.js';
import { letterTime } from '../../store/mailbox.js';
import type { OperatorStore } from '../../store/operator-store.js';
import type { TokenVerifier } from '../../tokens/check-token.js';
import { parseBody, type PublicRoute } from '../route.js';

const DAY_MS = 86_400_000;
const encoder = new TextEncoder();

/**
 * What a retry must repeat exactly: the recipient and the sealed bytes. The same token on the
 * same bytes to someone else is a second letter, not a retry.
 */
function letterHash(to: string, sealed: Uint8Array): Uint8Array {
  const name = encoder.encode(to);
  const bytes = new Uint8Array(2 + name.length + sealed.length);
  new DataView(bytes.buffer).setUint16(0, name.length);
  bytes.set(name, 2);
  bytes.set(sealed, 2 + name.length);
  return blake2b(bytes, 32);
}

/** What {@link sendAnonymously} needs. */
export interface AnonymousSendDeps {
  readonly config: Pick<OperatorConfig, 'mail'>;
  readonly tokens: Pick<TokenVerifier, 'check'>;
  readonly store: Pick<OperatorStore, 'lookup' | 'spendAndDeposit' | 'durable'>;
  readonly mailWaiters: Pick<MailWaiters, 'notify'>;
}

/** The stored letter: its id and its (rounded) time; `repeated` for an identical retry. */
export interface AnonymousSent {
  readonly id: Uint8Array;
  readonly receivedAt: number;
  readonly repeated: boolean;
}

/**
 * Checks, in this order: the sealed length is a size class (and within the configured maximum),
 * the token is of an accepted epoch and was issued by this Operator, the recipient is a
 * registered komrade; then spends the token and deposits the letter in one transaction, waits
 * until both are durable and wakes the recipient's held waits. Nothing stored names the sender.
 *
 * @throws KomradeError `LETTER_SIZE_CLASS`, `LETTER_TOO_LARGE`, `TOKEN_INVALID`, `NAME_INVALID`,
 *   `NAME_UNKNOWN`, `TOKEN_SPENT`, `MAILBOX_FULL`
 */
export async function sendAnonymously(
  deps: AnonymousSendDeps,
  request: AnonymousSendRequest,
  now: number,
): Promise<AnonymousSent> {
  const { mail } = deps.config;
  const { to, sealed, token } = request;
  if (!isSealedSizeClass(sealed.length)) {
    throw new KomradeError(
      'LETTER_SIZE_CLASS',
      'sealed: its length is not one of the size classes; pad the letter before sealing.',
    );
  }
  if (sealed.length > mail.maxSealedLetterBytes) {
    throw new KomradeError(
      'LETTER_TOO_LARGE',
      `sealed: larger than this Operator's ${mail.maxSealedLetterBytes} bytes.`,
    );
  }
  const inputHash = deps.tokens.check(token, now);
  if (!isCanonicalName(to)) throw new KomradeError('NAME_INVALID', 'to: not a canonical name.');
  if ((await deps.store.lookup(to)) === undefined) {
    throw new KomradeError('NAME_UNKNOWN', 'to: no komrade by that name.');
  }
  const receivedAt = letterTime(now);
  const stored = await deps.store.spendAndDeposit(
    { epoch: token.epoch, inputHash, letterHash: letterHash(to, sealed) },
    { to, sealed },
    {
      receivedAt,
      expiresAt: receivedAt + mail.expireDays * DAY_MS,
      quota: mail.mailboxQuotaLetters,
    },
  );
  // Wake waits only for a letter that can no longer be lost.
  await deps.store.durable();
  // A retry wakes them too: the first attempt may have stopped before it did.
  deps.mailWaiters.notify([to]);
  return stored;
}

/** POST /v2/mail/send (not signed: an Authorization header, if any, is ignored). */
export const anonymousSendRoute: PublicRoute = {
  method: 'POST',
  template: TOKEN_ROUTES.send,
  signed: false,
  handle: async ({ deps, body, now }) => {
    const request = parseBody(anonymousSendRequestSchema, body, 'send request');
    const sent = await sendAnonymously(deps, request, now);
    return { status: 201, body: { id: toBase64url(sent.id), receivedAt: sent.receivedAt } };
  },
};
