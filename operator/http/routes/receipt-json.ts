/** A registered komrade as the JSON receipt of the API. */
import { toBase64url } from '../../../common/wire/index.js';
import type { RegisteredKomrade } from '../../store/registry.js';

/** `{ receipt }` for register and lookup answers. */
export function receiptJson(komrade: RegisteredKomrade): { receipt: Record<string, unknown> } {
  return {
    receipt: {
      name: komrade.name,
      signKey: toBase64url(komrade.signKey),
      boxKey: toBase64url(komrade.boxKey),
      keyHolder: komrade.keyHolder,
      ratchetKey: komrade.ratchetKey === null ? null : toBase64url(komrade.ratchetKey),
      registeredAt: komrade.registeredAt,
      sig: toBase64url(komrade.sig),
    },
  };
}
