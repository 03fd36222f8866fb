/** Proof of work for a new collective's name: the same hashcash as a komrade's, over its genesis. */
import { TAGS, signedBytes } from '../wire/index.js';
import { eventHash } from './event.js';

/**
 * The bytes a new collective's proof of work is computed over: the genesis event's hash under its
 * own tag, so a nonce found for a komrade's claim (or another genesis) is worth nothing here.
 */
export function collectivePowBytes(genesisSigned: Uint8Array): Uint8Array {
  return signedBytes(TAGS.collectivePow, eventHash(genesisSigned));
}
