/** A registered komrade as the JSON receipt of the API. */
import { logProofJson, toBase64url, type LogProof } from '../../../common/wire/index.js';
import type { RegisteredKomrade } from '../../store/registry.js';

/**
 * `{ receipt }` for register and lookup answers; with `proof`, the receipt carries where it sits
 * in the registry log (every answer but a log entry's does).
 */
export function receiptJson(
  komrade: RegisteredKomrade,
  proof?: LogProof,
): { receipt: Record<string, unknown> } {
  return {
    receipt: {
      name: komrade.name,
      signKey: toBase64url(komrade.signKey),
      boxKey: toBase64url(komrade.boxKey),
      keyHolder: komrade.keyHolder,
      ratchetKey: komrade.ratchetKey === null ? null : toBase64url(komrade.ratchetKey),
      registeredAt: komrade.registeredAt,
      sig: toBase64url(komrade.sig),
      ...(proof === undefined ? {} : { proof: logProofJson(proof) }),
    },
  };
}
