/** POST /v1/komrades/ratchet-key: a name registered before ratchet keys adds its own, once. */
import { KomradeError } from '../../../common/errors/index.js';
import {
  ROUTES,
  bytesEqual,
  ratchetKeyRequestSchema,
  signReceipt,
  verifyClaimProof,
} from '../../../common/wire/index.js';
import { provenReceipt } from '../../registry-log/index.js';
import { parseBody, type SignedRoute } from '../route.js';
import { receiptJson } from './receipt-json.js';

/**
 * Signed by the name's identity. `pop` proves the identity signs its registered claim with this
 * ratchet key in it (the very proof a new registration carries), so the new receipt the Operator
 * signs (same `registeredAt`) vouches for nothing the identity did not sign. Ratchet keys are
 * permanent: the same key again answers the stored receipt, another one is refused. Either
 * answer carries the receipt's registry log proof (the update is a new leaf of the log).
 * @throws KomradeError `BAD_REQUEST`, `BAD_SIGNATURE` (the proof), `RATCHET_KEY_SET`
 */
export const setRatchetKeyRoute: SignedRoute = {
  method: 'POST',
  template: ROUTES.ratchetKey,
  signed: true,
  handle: async ({ deps, body, signer }) => {
    const request = parseBody(ratchetKeyRequestSchema, body, 'ratchet key request');
    if (signer.ratchetKey !== null) {
      if (bytesEqual(signer.ratchetKey, request.ratchetKey)) {
        const proven = await provenReceipt(deps.store, deps.checkpoints, signer.name);
        return { status: 200, body: receiptJson(proven.receipt, proven.proof) };
      }
      throw new KomradeError(
        'RATCHET_KEY_SET',
        `@${signer.name} has a ratchet key already; it never changes.`,
      );
    }
    const claim = { ...signer, ratchetKey: request.ratchetKey };
    if (!verifyClaimProof(claim, request.pop)) {
      throw new KomradeError('BAD_SIGNATURE', 'The proof of possession does not verify.');
    }
    const receipt = signReceipt(
      {
        name: signer.name,
        signKey: signer.signKey,
        boxKey: signer.boxKey,
        keyHolder: signer.keyHolder,
        ratchetKey: request.ratchetKey,
        registeredAt: signer.registeredAt,
      },
      deps.keys.signSecret,
    );
    // Two updates at once: the store keeps the first and answers it to a repeat of the same key.
    // The new receipt is the name's newest leaf: the proof answered is for it.
    await deps.store.setRatchetKey(signer.name, request.ratchetKey, receipt.sig);
    const proven = await provenReceipt(deps.store, deps.checkpoints, signer.name);
    return { status: 200, body: receiptJson(proven.receipt, proven.proof) };
  },
};
