/** The ReplayGuard port: request nonces, remembered durably until a replay would be too old anyway. */

/** Refuses a signed request seen before, even across restarts. */
export interface ReplayGuard {
  /**
   * Records `nonce` for `name` until `keepUntil`.
   * @returns `false` when that nonce was already recorded (a replay)
   */
  remember(name: string, nonce: Uint8Array, keepUntil: number): Promise<boolean>;
  /** Forgets nonces whose `keepUntil` is at or before `now`; returns how many. */
  sweepExpiredNonces(now: number): Promise<number>;
}
