/** The Registry port: every komrade's name and public keys, kept forever. */
import type { KeyHolder } from '../../common/wire/index.js';

/** A registered komrade, exactly as the Operator's receipt vouches for it. */
export interface RegisteredKomrade {
  /** Folded canonical name. */
  readonly name: string;
  readonly signKey: Uint8Array;
  readonly boxKey: Uint8Array;
  /** Who holds the komrade's secret keys, as the registrant signed it. */
  readonly keyHolder: KeyHolder;
  /**
   * The ratchet identity key (33 bytes, libsignal serialization); `null` only for a name
   * registered before ratchet keys that has not added one yet.
   */
  readonly ratchetKey: Uint8Array | null;
  readonly registeredAt: number;
  /** The Operator's receipt signature, so lookups can answer the same receipt. */
  readonly sig: Uint8Array;
}

/**
 * Names and keys are permanent: there is no delete and no change, on purpose (a name can never be
 * taken over, and a key can never be silently replaced). The one update adds the ratchet key a
 * name registered before ratchet keys lacks, once.
 */
export interface Registry {
  /**
   * Records a new komrade, first come first served. The look-alike check and the insert are one
   * transaction, so of `alice` and `a1ice` registering at once exactly one wins. The same
   * transaction appends the receipt's leaf to the registry log (`RegistryLog`); a refused
   * registration appends nothing.
   * @throws KomradeError `NAME_TAKEN` when a komrade or a collective has the name or one with the
   * same `nameSkeleton` (names registered before that rule keep their look-alikes), `BAD_REQUEST`
   * when any of its keys is already registered under another name (keys may not be reused)
   */
  register(komrade: RegisteredKomrade): Promise<void>;
  /**
   * Gives `name` its ratchet key and the receipt signature that covers it, if it has none yet.
   * The same key again changes nothing (an idempotent retry). The new receipt is appended to the
   * registry log in the same transaction; a retry appends nothing.
   * @returns the komrade as stored afterwards
   * @throws KomradeError `NAME_UNKNOWN`, `RATCHET_KEY_SET` when it has another ratchet key,
   * `BAD_REQUEST` when another name has this one
   */
  setRatchetKey(name: string, ratchetKey: Uint8Array, sig: Uint8Array): Promise<RegisteredKomrade>;
  /** The komrade registered under exactly this folded name (not a look-alike), or `undefined`. */
  lookup(name: string): Promise<RegisteredKomrade | undefined>;
}
