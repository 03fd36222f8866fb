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
  readonly registeredAt: number;
  /** The Operator's receipt signature, so lookups can answer the same receipt. */
  readonly sig: Uint8Array;
}

/**
 * Names and keys are permanent: there is no update or delete, on purpose (a name can never be
 * taken over, and a key can never be silently replaced).
 */
export interface Registry {
  /**
   * Records a new komrade, first come first served. The look-alike check and the insert are one
   * transaction, so of `alice` and `a1ice` registering at once exactly one wins.
   * @throws KomradeError `NAME_TAKEN` when a komrade or a collective has the name or one with the
   * same `nameSkeleton` (names registered before that rule keep their look-alikes), `BAD_REQUEST`
   * when either key is already registered under another name (keys may not be reused)
   */
  register(komrade: RegisteredKomrade): Promise<void>;
  /** The komrade registered under exactly this folded name (not a look-alike), or `undefined`. */
  lookup(name: string): Promise<RegisteredKomrade | undefined>;
}
