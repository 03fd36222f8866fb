/**
 * The PrekeyStore port: each komrade's published prekeys, and the anonymous hand-out of bundles.
 * A one-time prekey is handed out at most once: it is deleted in the transaction that hands it
 * out, which also spends the token that paid for it.
 */
import type { KyberPrekey, OneTimePrekey, SignedPrekey } from '../../common/wire/index.js';
import type { TokenSpend } from './token-ledger.js';

/** What one upload stores; absent parts stay as they are. */
export interface PrekeysToStore {
  /** Replaces the stored signed prekey. */
  readonly signedPrekey?: SignedPrekey | undefined;
  /** Replaces the stored last-resort Kyber prekey. */
  readonly kyberPrekey?: KyberPrekey | undefined;
  /** Added to those held; every id must be new for this name and distinct. */
  readonly oneTimePrekeys?: readonly OneTimePrekey[] | undefined;
  /**
   * Deletes every one-time prekey held first (a restored client lacks their secrets); the ids
   * of `oneTimePrekeys` then need only be distinct.
   */
  readonly replaceOneTime?: boolean | undefined;
}

/** What a komrade holds at the Operator after an upload. */
export interface PrekeyCounts {
  readonly oneTimeLeft: number;
  readonly signedPrekey: boolean;
  readonly kyberPrekey: boolean;
}

/** The limit on one-time prekeys handed out per name and hour. */
export interface HandoutLimit {
  /** The hour `now` falls in (ms since the epoch / 3,600,000, floored). */
  readonly hour: number;
  /** Most one-time prekeys of one name handed out in one hour. */
  readonly perHour: number;
}

/** A bundle as taken from the store. */
export interface TakenBundle {
  readonly signedPrekey: SignedPrekey;
  readonly kyberPrekey: KyberPrekey;
  /** Absent when none is left, the hour's share is handed out, or `repeated`. */
  readonly oneTimePrekey?: OneTimePrekey;
  /** True when the token had paid for this name's bundle already: nothing was spent again. */
  readonly repeated: boolean;
}

/** Prekeys per komrade; rows go with nothing but an upload or a hand-out. */
export interface PrekeyStore {
  /**
   * Stores an upload atomically: all of it or nothing. With `replaceOneTime`, the deleted rows
   * are scrubbed from the WAL by the time `durable()` resolves.
   * @param maxOneTime - most one-time prekeys held for one name, counting this upload
   * @throws KomradeError `NAME_UNKNOWN`, `PREKEY_ID_USED` (an id held already, or twice in the
   * upload), `PREKEYS_FULL`
   */
  storePrekeys(name: string, upload: PrekeysToStore, maxOneTime: number): Promise<PrekeyCounts>;
  /**
   * In one transaction: spends the token, takes the name's signed and Kyber prekeys and, within
   * the hourly limit, its one-time prekey of lowest id, which is deleted and counted. A token
   * spent before on this name's bundle (its `letterHash`) answers again without a one-time
   * prekey and spends nothing. Durable only once `durable()` resolves: answer after that.
   * @throws KomradeError `PREKEYS_MISSING` (nothing is spent), `TOKEN_SPENT` when the token paid
   * for something else
   */
  takeBundle(spend: TokenSpend, name: string, limit: HandoutLimit): Promise<TakenBundle>;
  /** Deletes the hand-out counts of hours before `hour`; returns how many. */
  sweepPrekeyHandouts(hour: number): Promise<number>;
}

/** One-time prekey hand-outs are counted per this long. */
export const HANDOUT_PERIOD_MS = 3_600_000;

/** The hand-out period (hour) `now` falls in. */
export const handoutHour = (now: number): number => Math.floor(now / HANDOUT_PERIOD_MS);
