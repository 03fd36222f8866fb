/**
 * Acks that wait a moment for a ride: the ids of letters an identity may let the Operator forget
 * (shown and marked so, or never to be shown) go with that identity's next fetch when one comes
 * within {@link ACK_RIDE_MS} (a wake-up usually brings one), else alone. A letter stays at the
 * Operator at most about that long after it could be deleted, and most acks cost no request.
 *
 * Nothing here is durable, nor needs to be: until the Operator deletes a letter it is fetched
 * again after a crash, and the delivery ledger, which holds it as shown, has it acked then.
 */
import type { Logger } from '../../common/logging/index.js';
import { MAX_ACK_IDS } from '../../common/wire/index.js';
import { codeOf } from './job-failures.js';

/** How long ids wait for the identity's next fetch before they go alone. */
export const ACK_RIDE_MS = 1_000;
/** After a failed ack alone the next try waits twice as long as the last, up to this. */
const RETRY_MAX_MS = 30_000;

/** What {@link PendingAcks} needs. */
export interface PendingAcksDeps {
  /**
   * Sends an ack alone (at most `MAX_ACK_IDS` ids). Resolves once the Operator deleted them, or
   * when the identity is gone (nothing left to delete with); rejects to be tried again.
   */
  readonly ackAlone: (identity: string, ids: readonly Uint8Array[]) => Promise<void>;
  readonly logger: Logger;
  /** @defaultValue {@link ACK_RIDE_MS} */
  readonly rideMs?: number;
}

/** Ids queued together, and what to run once the Operator deleted them all. */
interface Entry {
  readonly ids: readonly Uint8Array[];
  readonly done: (() => void) | undefined;
}

/** Ids taken for one fetch to carry; that fetch settles them. */
export interface AckRide {
  /** The ids the fetch carries (empty: nothing waited). */
  readonly ids: readonly Uint8Array[];
  /** After the fetch: `true` once it was answered (the ids are deleted), `false` to keep them. */
  settle(deleted: boolean): void;
}

interface Identity {
  readonly waiting: Entry[];
  timer: NodeJS.Timeout | undefined;
  /** An ack alone in flight: its entries are out of `waiting` until it settles. */
  sending: Promise<void> | undefined;
  failures: number;
}

const NO_RIDE: AckRide = { ids: [], settle: () => undefined };

/** Takes entries off the front of `waiting` while their ids fit in `max` (at least one). */
function takeEntries(waiting: Entry[], max: number): Entry[] {
  let count = 0;
  let n = 0;
  while (n < waiting.length && (n === 0 || count + (waiting[n]?.ids.length ?? 0) <= max)) {
    count += waiting[n]?.ids.length ?? 0;
    n++;
  }
  return waiting.splice(0, n);
}

/** Per identity: ids waiting for a fetch to ride on, with a timer that sends them alone. */
export class PendingAcks {
  readonly #deps: PendingAcksDeps;
  readonly #rideMs: number;
  readonly #identities = new Map<string, Identity>();
  #closed = false;

  constructor(deps: PendingAcksDeps) {
    this.#deps = deps;
    this.#rideMs = deps.rideMs ?? ACK_RIDE_MS;
  }

  /**
   * Queues `ids` (of letters stored here, or shown and marked so) for deletion; `done` runs once
   * the Operator has deleted them all. After {@link PendingAcks.close} they go alone at once.
   */
  add(identity: string, ids: readonly Uint8Array[], done?: () => void): void {
    if (ids.length === 0) {
      if (done !== undefined) this.#run([{ ids, done }]);
      return;
    }
    const state = this.#state(identity);
    for (let at = 0; at < ids.length; at += MAX_ACK_IDS) {
      const last = at + MAX_ACK_IDS >= ids.length;
      state.waiting.push({ ids: ids.slice(at, at + MAX_ACK_IDS), done: last ? done : undefined });
    }
    if (this.#closed) void this.#sendAlone(identity);
    else this.#arm(identity, state, this.#rideMs);
  }

  /**
   * Takes what waits for `identity` (at most `max` ids; the rest keep waiting) for its fetch to
   * carry. The caller settles the ride once the fetch was answered or failed.
   */
  take(identity: string, max: number = MAX_ACK_IDS): AckRide {
    const state = this.#identities.get(identity);
    if (state === undefined || state.waiting.length === 0) return NO_RIDE;
    const entries = takeEntries(state.waiting, Math.min(max, MAX_ACK_IDS));
    if (state.waiting.length === 0) this.#disarm(state);
    let settled = false;
    return {
      ids: entries.flatMap((entry) => entry.ids),
      settle: (deleted) => {
        if (settled) return;
        settled = true;
        if (deleted) {
          this.#run(entries);
          this.#forgetIfIdle(identity);
          return;
        }
        // The fetch failed: its ids wait again (deleting twice is harmless).
        const again = this.#state(identity);
        again.waiting.unshift(...entries);
        this.#arm(identity, again, this.#rideMs);
      },
    };
  }

  /** How many ids wait for `identity` (tests, logs). */
  waiting(identity: string): number {
    const state = this.#identities.get(identity);
    return state?.waiting.reduce((n, entry) => n + entry.ids.length, 0) ?? 0;
  }

  /**
   * Sends everything still waiting alone (shutting down: no fetch will come), and resolves once
   * those acks settled. Whatever fails stays at the Operator and is fetched again.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const identity of [...this.#identities.keys()]) void this.#sendAlone(identity);
    for (;;) {
      const sending = [...this.#identities.values()].flatMap((s) => s.sending ?? []);
      if (sending.length === 0) break;
      await Promise.all(sending);
    }
    for (const state of this.#identities.values()) this.#disarm(state);
    this.#identities.clear();
  }

  #state(identity: string): Identity {
    let state = this.#identities.get(identity);
    if (state === undefined) {
      state = { waiting: [], timer: undefined, sending: undefined, failures: 0 };
      this.#identities.set(identity, state);
    }
    return state;
  }

  #arm(identity: string, state: Identity, ms: number): void {
    if (state.timer !== undefined || state.sending !== undefined) return;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.#sendAlone(identity);
    }, ms);
    // Shutdown sends what waits (close): a pending timer must not keep the process alive.
    state.timer.unref();
  }

  #disarm(state: Identity): void {
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
  }

  async #sendAlone(identity: string): Promise<void> {
    const state = this.#identities.get(identity);
    if (state === undefined || state.sending !== undefined || state.waiting.length === 0) return;
    this.#disarm(state);
    const entries = takeEntries(state.waiting, MAX_ACK_IDS);
    const ids = entries.flatMap((entry) => entry.ids);
    state.sending = this.#deps.ackAlone(identity, ids).then(
      () => {
        state.failures = 0;
        this.#run(entries);
      },
      (error: unknown) => {
        state.failures++;
        state.waiting.unshift(...entries);
        this.#deps.logger.warn('bridge.ack_failed', { code: codeOf(error) });
      },
    );
    await state.sending;
    state.sending = undefined;
    if (state.waiting.length === 0) {
      this.#forgetIfIdle(identity);
    } else if (this.#closed) {
      // Shutting down: what came meanwhile goes now; what failed is left to a later fetch.
      if (state.failures === 0) await this.#sendAlone(identity);
    } else {
      // Waits for a ride again; after failures, longer.
      this.#arm(identity, state, Math.min(this.#rideMs * 2 ** state.failures, RETRY_MAX_MS));
    }
  }

  #forgetIfIdle(identity: string): void {
    const state = this.#identities.get(identity);
    if (state?.waiting.length === 0 && state.sending === undefined && state.timer === undefined) {
      this.#identities.delete(identity);
    }
  }

  #run(entries: readonly Entry[]): void {
    for (const { done } of entries) {
      try {
        done?.();
      } catch (error) {
        // A ledger write failing leaves its ids there: the letter is fetched again and acked.
        this.#deps.logger.warn('bridge.ack_record_failed', { code: codeOf(error) });
      }
    }
  }
}
