/** The port that keeps the onion service's secret key, so the `.onion` address survives restarts. */

/**
 * Where the onion service's key lives between starts. Keys are in Tor's control-port form,
 * `ED25519-V3:<base64>`; implementations must never log or echo them.
 */
export interface OnionKeyStore {
  /**
   * The persisted key, or `undefined` before the first publication.
   * @throws KomradeError `WRONG_PASSPHRASE`, `KEYSTORE_CORRUPT` or `KEYSTORE_MISSING`
   */
  load(): string | undefined;
  /** Persists the key tor generated on the first publication. */
  save(privateKey: string): void;
}
