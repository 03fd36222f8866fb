/** The POPRF tweak of RFC 9497 §3.3.3: the public `info` folded into the key as skS + m. */
import { hashToScalar } from './group.js';
import { ascii, concat, lengthPrefixed } from './suite.js';

const INFO = ascii('Info');

/** m = HashToScalar("Info" ‖ I2OSP(len(info), 2) ‖ info). */
export function infoScalar(info: Uint8Array): Uint8Array {
  return hashToScalar('POPRF', concat(INFO, lengthPrefixed(info)));
}
