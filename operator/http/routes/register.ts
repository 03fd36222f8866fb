/** POST /v1/register: claim a name for its public keys, forever. */
import { checkPublicKeys } from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import {
  ROUTES,
  checkProofOfWork,
  claimBytesForPow,
  parseNewName,
  registerRequestSchema,
  signReceipt,
  verifyClaimProof,
} from '../../../common/wire/index.js';
import { provenReceipt } from '../../registry-log/index.js';
import { parseBody, type PublicRoute } from '../route.js';
import { receiptJson } from './receipt-json.js';

/**
 * Unsigned (the keys are new). The name must already be in folded form, because the proofs cover
 * it byte for byte; the receipt is signed by the Operator and carries its registry log proof.
 * @throws KomradeError `NAME_INVALID`, `NAME_RESERVED`, `KEY_INVALID` (a malformed or small-order
 * key, or no ratchet key), `BAD_SIGNATURE`, `BAD_PROOF_OF_WORK`, `NAME_TAKEN`, `BAD_REQUEST` (keys
 * already registered)
 */
export const registerRoute: PublicRoute = {
  method: 'POST',
  template: ROUTES.register,
  signed: false,
  handle: async ({ deps, body, now }) => {
    const request = parseBody(registerRequestSchema, body, 'register request');
    const name = parseNewName(request.name);
    if (!name.ok) throw name.error;
    if (name.value !== request.name) {
      throw new KomradeError(
        'NAME_INVALID',
        `Send the name in its folded form ("${name.value}"): the proofs must cover it exactly.`,
      );
    }
    // Only names registered before forward secrecy lack a ratchet key; no new one may.
    if (request.ratchetKey === undefined || request.ratchetKey === null) {
      throw new KomradeError(
        'KEY_INVALID',
        'A new registration carries a ratchet key (33 bytes, 0x05 first); update the client.',
      );
    }
    const claim = {
      name: name.value,
      signKey: request.signKey,
      boxKey: request.boxKey,
      keyHolder: request.keyHolder,
      ratchetKey: request.ratchetKey,
    };
    // Before the proofs: a small-order signing key would otherwise read as a bad signature.
    const keys = checkPublicKeys({ sign: claim.signKey, box: claim.boxKey });
    if (!keys.ok) throw keys.error;
    if (!verifyClaimProof(claim, request.pop)) {
      throw new KomradeError('BAD_SIGNATURE', 'The proof of possession does not verify.');
    }
    const bits = deps.config.registration.powBits;
    if (!checkProofOfWork(claimBytesForPow(claim), request.pow, bits)) {
      throw new KomradeError(
        'BAD_PROOF_OF_WORK',
        `The proof of work does not reach ${bits} bits for this claim.`,
      );
    }
    const receipt = signReceipt({ ...claim, registeredAt: now }, deps.keys.signSecret);
    await deps.store.register(receipt);
    const proven = await provenReceipt(deps.store, deps.checkpoints, receipt.name);
    return { status: 201, body: receiptJson(proven.receipt, proven.proof) };
  },
};
