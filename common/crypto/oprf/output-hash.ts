/** The OPRF output: SHA-512 over the input, the POPRF info and the unblinded element. */
import { lib } from '../sodium.js';
import type { OprfParams } from './suite.js';
import { ascii, concat, lengthPrefixed } from './suite.js';

const FINALIZE = ascii('Finalize');

/** Hash(len ‖ input [‖ len ‖ info] ‖ len ‖ element ‖ "Finalize"), as both Finalize and Evaluate end. */
export function outputHash(params: OprfParams, input: Uint8Array, element: Uint8Array): Uint8Array {
  const info = params.mode === 'POPRF' ? [lengthPrefixed(params.info)] : [];
  return lib().crypto_hash_sha512(
    concat(lengthPrefixed(input), ...info, lengthPrefixed(element), FINALIZE),
  );
}
