/**
 * Platform events handled once: a chat platform may deliver an event again after a crash (a
 * Telegram update is confirmed only by the next `getUpdates`; a Discord channel is read again from
 * its cursor), and an action taken for it must not be taken twice. Each event a user action
 * answered is recorded in the bridge store with its result, and a replay gets the result back.
 */
import { fromBase64url, toBase64url } from '../../common/wire/index.js';
import type { BridgeStore } from '../identity-vault/bridge-store.js';

/** How long a handled event is remembered: far longer than any platform re-delivers one. */
export const HANDLED_EVENT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Names the platform event a user action answers, e.g. `telegram:<bot id>:<update_id>`,
 * `discord:<interaction id>`, `discord-msg:<message id>`.
 */
export interface EventOptions {
  readonly event?: string;
}

const BYTES_TAG = '$bytes';

/** JSON, with byte strings kept as bytes (views may carry keys or ids). */
export function encodeResult(value: unknown): string {
  // `undefined` (an action that returns nothing) is written as null.
  const text = JSON.stringify(value, (_key, v: unknown) =>
    v instanceof Uint8Array ? { [BYTES_TAG]: toBase64url(v) } : v,
  ) as string | undefined;
  return text ?? 'null';
}

/** The inverse of {@link encodeResult}. */
export function decodeResult(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const tagged = (v as Record<string, unknown>)[BYTES_TAG];
      if (typeof tagged === 'string' && Object.keys(v).length === 1) {
        return fromBase64url(tagged) ?? v;
      }
    }
    return v;
  });
}

/** The events the engine acted on, in the bridge store. */
export class HandledEvents {
  readonly #store: BridgeStore;
  readonly #now: () => number;

  constructor(store: BridgeStore, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  /** What `event` answered when it was handled before; `undefined` when it was not (or no event). */
  replay(event: string | undefined): { readonly result: unknown } | undefined {
    if (event === undefined) return undefined;
    const handled = this.#store.handledEvent(event);
    return handled === undefined ? undefined : { result: decodeResult(handled.result) };
  }

  /**
   * Runs `action` for `event` unless it was handled before, and records its result once it
   * succeeded. Without an event, just runs it.
   *
   * A crash between the action's success and the record leaves the event unrecorded: a replay runs
   * the action again (the Operator refuses a second vote or vouch).
   */
  async once<T>(event: string | undefined, action: () => Promise<T>): Promise<T> {
    const before = this.replay(event);
    // Written by this same call site for this same event: the action's own result type.
    if (before !== undefined) return before.result as T;
    const result = await action();
    if (event !== undefined) this.#store.recordEvent(event, encodeResult(result));
    return result;
  }

  /**
   * Records `event` (if any) as handled with `result`, once the action succeeded, and returns the
   * result. A crash just before leaves it unrecorded: see {@link HandledEvents.once}.
   */
  done<T>(event: string | undefined, result: T): T {
    if (event !== undefined) this.#store.recordEvent(event, encodeResult(result));
    return result;
  }

  /** Records `event` as handled with `result` (an action that queued nothing). */
  record(event: string, result: unknown): void {
    this.#store.recordEvent(event, encodeResult(result));
  }

  /** Whether the user was given `event`'s answer (so a replay is not answered twice). */
  answered(event: string): boolean {
    return this.#store.handledEvent(event)?.answered === true;
  }

  /** Notes that the user was given `event`'s answer. */
  markAnswered(event: string): void {
    this.#store.markEventAnswered(event);
  }

  /** Forgets events older than {@link HANDLED_EVENT_RETENTION_MS}. */
  prune(): void {
    this.#store.pruneEvents(this.#now() - HANDLED_EVENT_RETENTION_MS);
  }
}
