/** A collective's log as the Operator holds it in memory: verified, with the registrations used. */
import {
  CollectiveLog,
  type CollectiveEvent,
  type CollectiveRuleError,
  type CollectiveState,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import type { Result } from '../../common/errors/index.js';
import type { RegisteredKomrade } from '../store/registry.js';

/**
 * Wraps a {@link CollectiveLog} whose synchronous lookups read a map of registrations: the caller
 * fetches the registrations an event needs from the (async) store with {@link VerifiedLog.learn}
 * before checking it. Registrations never change, so a learnt one stays right forever.
 */
export class VerifiedLog {
  readonly collective: string;
  readonly #log: CollectiveLog;
  readonly #registrations = new Map<string, RegisteredKomrade>();
  #lastAt = 0;
  #state: CollectiveState | undefined;

  constructor(collective: string) {
    this.collective = collective;
    this.#log = new CollectiveLog({
      keyOf: (name) => this.#registrations.get(name)?.signKey,
      keyHolderOf: (name) => this.#registrations.get(name)?.keyHolder,
      boxKeyOf: (name) => this.#registrations.get(name)?.boxKey,
    });
  }

  /** Number of events: the `seq` of the next one. */
  get length(): number {
    return this.#log.length;
  }

  /** The `prev` the next event must carry. */
  get head(): Uint8Array {
    return this.#log.head;
  }

  /** `at` of the last event. */
  get lastAt(): number {
    return this.#lastAt;
  }

  /** The state after the last event (computed once per event, then shared). */
  state(): CollectiveState {
    this.#state ??= this.#log.state();
    return this.#state;
  }

  isMember(name: string): boolean {
    return this.#log.isMember(name);
  }

  isPending(name: string): boolean {
    return this.state().pending.some((p) => p.candidate === name);
  }

  /** Of `names`, those whose registration is not known yet. */
  unknown(names: Iterable<string>): string[] {
    return [...new Set(names)].filter((name) => !this.#registrations.has(name));
  }

  /** The registration learnt for `name`, if any. */
  registration(name: string): RegisteredKomrade | undefined {
    return this.#registrations.get(name);
  }

  /** Remembers a registration for the rule engine's lookups. */
  learn(komrade: RegisteredKomrade): void {
    this.#registrations.set(komrade.name, komrade);
  }

  /** Checks `signed` as the next event without changing anything. */
  canAppend(signed: SignedCollectiveEvent): Result<CollectiveEvent, CollectiveRuleError> {
    return this.#log.canAppend(signed);
  }

  /** Checks and appends `signed`; a refused event changes nothing. */
  append(signed: SignedCollectiveEvent): Result<CollectiveEvent, CollectiveRuleError> {
    const appended = this.#log.append(signed);
    if (appended.ok) {
      this.#lastAt = appended.value.at;
      this.#state = undefined;
    }
    return appended;
  }
}
