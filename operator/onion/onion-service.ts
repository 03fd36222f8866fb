/** The port that keeps the Operator reachable as an onion service. */

/** The Operator's published onion service. */
export interface PublishedOnion {
  /** `<56 characters>.onion`. */
  readonly hostname: string;
  /** The URL clients use, e.g. `http://<56 characters>.onion` (with `:port` when not 80). */
  readonly url: string;
  /** Whether tor accepted the onion-service proof-of-work defence (tor ≥ 0.4.9.1). */
  readonly powDefenses: boolean;
}

/**
 * Publishes the Operator's loopback HTTP listener as an onion service with a persisted key, and
 * keeps it published (re-publishing the same address after tor is lost) until stopped.
 */
export interface OnionService {
  /**
   * Brings tor up and publishes the onion; resolves once tor has accepted it.
   * @throws TOR_UNAVAILABLE when tor cannot be started, reached or refuses the onion; key-file
   * errors (`WRONG_PASSPHRASE`, `KEYSTORE_CORRUPT`, `KEYSTORE_MISSING`)
   */
  start(): Promise<PublishedOnion>;
  /** Stops watching, removes the onion and releases tor. Never throws. */
  stop(): Promise<void>;
}
