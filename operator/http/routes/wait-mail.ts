/** POST /v1/mail/wait: answer when one of these mailboxes has mail, or when the wait runs out. */
import { KomradeError } from '../../../common/errors/index.js';
import {
  CLOCK_SKEW_MS,
  ROUTES,
  isCanonicalName,
  verifyMailWait,
  waitRequestSchema,
} from '../../../common/wire/index.js';
import { VerifiedWaitProofs } from '../../mail/verified-wait-proofs.js';
import { parseBody, type PublicRoute } from '../route.js';

/**
 * Each mailbox carries its owner's proof (`signMailWait`) instead of the request being signed, so
 * one connection can wait on many mailboxes. Nothing is stored, not even a nonce: a replayed proof
 * can only ask again whether mail waits, which changes nothing. Checks run cheapest first and stop
 * at the first failure, so a forged request costs at most one signature check. Errors name the
 * failing mailbox by index.
 * @throws KomradeError `BAD_REQUEST` (a name twice), `NAME_INVALID`, `CLOCK_SKEW`, `NAME_UNKNOWN`,
 * `BAD_SIGNATURE`
 */
export const waitMailRoute: PublicRoute = {
  method: 'POST',
  template: ROUTES.wait,
  signed: false,
  handle: async ({ deps, body, now, signal }) => {
    const request = parseBody(waitRequestSchema, body, 'wait request');
    const names = new Set<string>();
    for (const [index, mailbox] of request.mailboxes.entries()) {
      if (!isCanonicalName(mailbox.name)) {
        throw new KomradeError('NAME_INVALID', `mailboxes.${index}.name: not a canonical name.`);
      }
      if (names.has(mailbox.name)) {
        throw new KomradeError('BAD_REQUEST', `mailboxes.${index}.name: named twice.`);
      }
      names.add(mailbox.name);
      if (Math.abs(mailbox.at - now) > CLOCK_SKEW_MS) {
        throw new KomradeError(
          'CLOCK_SKEW',
          `mailboxes.${index}.at: more than ${CLOCK_SKEW_MS / 60_000} minutes from the Operator's clock; check your clock.`,
        );
      }
    }
    const operator = deps.keys.signPublic;
    for (const [index, mailbox] of request.mailboxes.entries()) {
      const owner = await deps.store.lookup(mailbox.name);
      if (owner === undefined) {
        throw new KomradeError('NAME_UNKNOWN', `mailboxes.${index}.name: no komrade by that name.`);
      }
      const key = VerifiedWaitProofs.keyOf(mailbox.name, mailbox.at, mailbox.sig, owner.signKey);
      if (deps.waitProofs.has(key, now)) continue;
      const claim = { name: mailbox.name, at: mailbox.at, operator };
      if (!verifyMailWait(claim, mailbox.sig, owner.signKey)) {
        throw new KomradeError('BAD_SIGNATURE', `mailboxes.${index}.sig: does not verify.`);
      }
      deps.waitProofs.add(key, mailbox.at + CLOCK_SKEW_MS, now);
    }
    const list = [...names];
    const waitMs = Math.min(request.waitMs, deps.config.mail.maxWaitSeconds * 1_000);
    // Held before the store is asked, so a deposit in between cannot slip past both.
    const held = signal?.aborted === true ? undefined : deps.mailWaiters.wait(list, waitMs);
    const onAbort = () => held?.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const ready = await deps.store.hasMail(list, now);
      if (ready.length > 0 || held === undefined) return { status: 200, body: { ready } };
      return { status: 200, body: { ready: await held.ready } };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      held?.cancel();
    }
  },
};
