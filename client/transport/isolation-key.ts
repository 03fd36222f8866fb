/** Each identity's circuit isolation key: random, made once, kept in its local store. */
import { randomBytes } from '../../common/crypto/index.js';
import { toBase64url } from '../../common/wire/index.js';
import type { LocalStore } from '../local-store/local-store.js';

/** Bytes of randomness in a new isolation key. */
const ISOLATION_KEY_BYTES = 16;

/**
 * This identity's circuit isolation key, created and saved on first use. It is random rather than
 * the komrade's name, so the local tor's logs and control port (which show SOCKS usernames) never
 * name the komrade; it is stable, so the identity keeps reusing its own circuits.
 *
 * @param store - the identity's local store
 * @param random - source of randomness @defaultValue common/crypto `randomBytes`
 * @example
 * ```ts
 * const isolationKey = ensureCircuitIsolationKey(store);
 * ```
 */
export function ensureCircuitIsolationKey(
  store: Pick<LocalStore, 'circuitIsolationKey' | 'setCircuitIsolationKey'>,
  random: (length: number) => Uint8Array = randomBytes,
): string {
  const existing = store.circuitIsolationKey();
  if (existing !== undefined) return existing;
  const key = toBase64url(random(ISOLATION_KEY_BYTES));
  store.setCircuitIsolationKey(key);
  return key;
}
