/**
 * `MailWatcher`: waits at the Operator for the mail of the identities a bot holds (long-poll, one
 * request per group of identities) and says which have mail, instead of polling each on a timer.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../common/logging/index.js';
import type { OperatorClient, RequestSigner } from '../../client/index.js';
import { codeOf } from './job-failures.js';

/** What {@link MailWatcher} is built from. */
export interface MailWatcherDeps {
  /**
   * An Operator client on its own Tor circuit. Each group's key is `wait-<n>`: it never equals an
   * identity's own key, so a wait never shares a circuit with an identity's fetches and sends.
   */
  readonly operatorFor: (isolationKey: string) => OperatorClient;
  /** The signer of a registered identity; `undefined` leaves it out of waits (not registered). */
  readonly signerOf: (identity: string) => RequestSigner | undefined;
  /**
   * Called when an identity may have mail: fetch it. May resolve once the fetch is queued or once
   * it is done; until it settles, and for at least a second after each call, the identity is left
   * out of its group's waits, so mail not yet acknowledged does not wake the group again and again.
   */
  readonly onMail: (identity: string) => Promise<void> | void;
  /**
   * Most identities per waiting request. `1`: each identity waits alone on its own circuit (the
   * Operator cannot tell which identities share a bot, as with polling); larger groups cost fewer
   * circuits and connections but show the Operator that their identities wait together.
   */
  readonly groupSize: number;
  /** How long the Operator may hold one wait (it may cap it). @defaultValue 55000 */
  readonly waitMs?: number;
  /** How often each identity is fetched while the Operator cannot wait (an older Operator). */
  readonly fallbackPollMs: number;
  /** How long an Operator that cannot wait is polled before waiting is tried again. @defaultValue 600000 */
  readonly retryWaitMs?: number;
  readonly logger: Logger;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** In [0, 1): the jitter of backoffs and wait lengths. @defaultValue `Math.random` */
  readonly random?: () => number;
  /** @defaultValue `Date.now` */
  readonly now?: () => number;
}

/** Backoff after a failed wait: 1 s doubling to 30 s, ±20% jitter. */
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/**
 * After `onMail`, an identity sits out waits this long: the Operator keeps answering "mail" until
 * the fetch acknowledges it. Doubled (up to the max) each time its mail is still there when it
 * comes back, i.e. a wait including it is answered within {@link AT_ONCE_MS}; mail that comes
 * later is new, and starts over at the base.
 */
const COOLDOWN_BASE_MS = 1_000;
const COOLDOWN_MAX_MS = 2_000;
const AT_ONCE_MS = 1_000;

/**
 * Codes saying the Operator will not take this group's wait as it is (a proof it refuses, a name
 * it does not know): retrying at once would fail again, so the group is polled for a while.
 */
const REFUSALS: ReadonlySet<string> = new Set([
  'BAD_REQUEST',
  'AUTH_REQUIRED',
  'BAD_SIGNATURE',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'KEY_INVALID',
  'PAYLOAD_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'METHOD_NOT_ALLOWED',
]);

interface Group {
  readonly key: string;
  readonly members: Set<string>;
  readonly operator: OperatorClient;
  /** Aborted to make the loop read its members again (regrouping) or to end it. */
  cycle: AbortController;
  ended: boolean;
  loop: Promise<void>;
}

/** An identity recently handed to `onMail`. */
interface Cooling {
  until: number;
  streak: number;
  pending: boolean;
}

/** A function, so the compiler does not keep a narrowing of `ended` across an await. */
const hasEnded = (group: Group): boolean => group.ended;

/** Resolves after `ms`, or at once when `signal` aborts (Node's timer rejects then: not an error). */
const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

/**
 * Splits identities into groups of at most `groupSize`; each group has one loop: wait for its
 * mailboxes → `onMail` for each that has mail → wait again. Idle, it holds one pending request per
 * group and no timer at all. On a transient failure the group backs off (1 s … 30 s); the first
 * wait that succeeds again answers at once for every mailbox whose mail came meanwhile. An Operator
 * without waiting (`NOT_FOUND`) is polled every `fallbackPollMs` and asked to wait again every
 * `retryWaitMs`.
 *
 * @example
 * ```ts
 * const watcher = new MailWatcher({ operatorFor, signerOf, onMail: (id) => fetchMail(id),
 *   groupSize: 1000, fallbackPollMs: 30_000, logger });
 * watcher.start(store.registeredIdentities());
 * watcher.add(newlyRegistered);
 * await watcher.close();
 * ```
 */
export class MailWatcher {
  readonly #deps: MailWatcherDeps;
  readonly #groupSize: number;
  readonly #waitMs: number;
  readonly #retryWaitMs: number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #groups = new Map<string, Group>();
  readonly #groupOf = new Map<string, Group>();
  readonly #cooling = new Map<string, Cooling>();
  readonly #notifying = new Set<Promise<void>>();
  #groupCount = 0;
  #closed = false;
  #toldUnsupported = false;

  constructor(deps: MailWatcherDeps) {
    if (!Number.isInteger(deps.groupSize) || deps.groupSize < 1) {
      throw new RangeError('groupSize must be a positive integer');
    }
    this.#deps = deps;
    this.#groupSize = deps.groupSize;
    this.#waitMs = deps.waitMs ?? 55_000;
    this.#retryWaitMs = deps.retryWaitMs ?? 600_000;
    this.#sleep = deps.sleep ?? abortableSleep;
    this.#random = deps.random ?? Math.random;
    this.#now = deps.now ?? Date.now;
  }

  /** How many groups (waiting loops, one connection each) there are now. */
  get groups(): number {
    return this.#groups.size;
  }

  /**
   * Starts watching `identities`. Their mail is not fetched at once: each group's first wait
   * answers at once for the mailboxes that already have mail.
   */
  start(identities: readonly string[]): void {
    for (const identity of identities) this.#join(identity);
  }

  /**
   * Watches one more identity (just registered or restored), and calls `onMail` for it at once.
   * An identity already watched is checked again, and its group's wait is renewed (its signer may
   * have appeared since).
   */
  add(identity: string): void {
    if (this.#closed) return;
    const group = this.#groupOf.get(identity);
    if (group === undefined) this.#join(identity);
    else group.cycle.abort();
    this.#cooling.delete(identity);
    this.#notify(identity);
  }

  /** Stops watching an identity (forgotten); its group's wait is renewed without it. */
  remove(identity: string): void {
    const group = this.#groupOf.get(identity);
    this.#cooling.delete(identity);
    if (group === undefined) return;
    this.#groupOf.delete(identity);
    group.members.delete(identity);
    if (group.members.size === 0) {
      group.ended = true;
      this.#groups.delete(group.key);
    }
    group.cycle.abort();
  }

  /** Aborts every wait; resolves once every loop and every `onMail` call in progress ended. */
  async close(): Promise<void> {
    this.#closed = true;
    const loops: Promise<void>[] = [];
    for (const group of this.#groups.values()) {
      group.ended = true;
      group.cycle.abort();
      loops.push(group.loop);
    }
    this.#groups.clear();
    this.#groupOf.clear();
    await Promise.all(loops);
    await Promise.all(this.#notifying);
  }

  #join(identity: string): void {
    if (this.#closed || this.#groupOf.has(identity)) return;
    let group: Group | undefined;
    for (const candidate of this.#groups.values()) {
      if (candidate.members.size < this.#groupSize) {
        group = candidate;
        break;
      }
    }
    if (group === undefined) {
      const key = `wait-${++this.#groupCount}`;
      const created: Group = {
        key,
        members: new Set(),
        operator: this.#deps.operatorFor(key),
        cycle: new AbortController(),
        ended: false,
        loop: Promise.resolve(),
      };
      this.#groups.set(key, created);
      // Started on the next microtask, so identities joining in the same turn share the first wait.
      created.loop = Promise.resolve().then(() => this.#run(created));
      group = created;
    } else {
      group.cycle.abort();
    }
    group.members.add(identity);
    this.#groupOf.set(identity, group);
  }

  /**
   * Calls `onMail` for `identity`. While waiting (`cool`), the identity then sits out its group's
   * waits for a cooldown, longer if its mail looks `stale` (still there from the last wake-up);
   * while polling there is no wait to keep quiet.
   */
  #notify(identity: string, cool = true, stale = false): void {
    let entry: Cooling | undefined;
    if (cool) {
      const previous = this.#cooling.get(identity);
      const streak = previous !== undefined && stale ? previous.streak + 1 : 1;
      entry = {
        until: this.#now() + Math.min(COOLDOWN_MAX_MS, COOLDOWN_BASE_MS * 2 ** (streak - 1)),
        streak,
        pending: true,
      };
      this.#cooling.set(identity, entry);
    }
    const call = (async () => {
      try {
        await this.#deps.onMail(identity);
      } catch (error) {
        this.#deps.logger.warn('bridge.mail_notify_failed', { code: codeOf(error) });
      } finally {
        if (entry !== undefined) {
          entry.pending = false;
          // Its cooldown may be over already: renew the wait so it covers this identity again.
          if (this.#cooling.get(identity) === entry && entry.until <= this.#now()) {
            this.#groupOf.get(identity)?.cycle.abort();
          }
        }
      }
    })();
    this.#notifying.add(call);
    void call.finally(() => this.#notifying.delete(call));
  }

  #backoff(failures: number): number {
    const exact = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1));
    return Math.round(exact * (0.8 + this.#random() * 0.4));
  }

  async #run(group: Group): Promise<void> {
    let polling = false;
    let nextPollAt = 0;
    let retryWaitAt = 0;
    let failures = 0;
    while (!group.ended) {
      const cycle = new AbortController();
      group.cycle = cycle;
      const now = this.#now();

      if (polling) {
        if (now >= retryWaitAt) {
          polling = false;
          continue;
        }
        if (now >= nextPollAt) {
          for (const identity of group.members) this.#notify(identity, false);
          nextPollAt = now + this.#deps.fallbackPollMs;
        }
        await this.#sleep(Math.min(nextPollAt, retryWaitAt) - now, cycle.signal);
        continue;
      }

      const signers: RequestSigner[] = [];
      /** Mailbox name → identity, for this wait's answer. */
      const asked = new Map<string, string>();
      let coolEnd = Number.POSITIVE_INFINITY;
      for (const identity of group.members) {
        const cooling = this.#cooling.get(identity);
        if (cooling !== undefined && (cooling.pending || cooling.until > now)) {
          // A cooldown still running bounds this wait; an `onMail` that outlasts its cooldown
          // renews the wait when it settles.
          if (cooling.until > now) coolEnd = Math.min(coolEnd, cooling.until);
          continue;
        }
        const signer = this.#deps.signerOf(identity);
        if (signer === undefined) continue;
        signers.push(signer);
        asked.set(signer.name, identity);
      }
      // Up to a tenth shorter at random, so waits begun together (at start, after an outage)
      // drift apart rather than renewing in step, which would tie their groups together. Bounded by
      // the first cooldown's end, so that identity is waited on again from then on.
      const jittered = Math.round(this.#waitMs * (1 - 0.1 * this.#random()));
      const waitMs = Math.max(1, Math.min(jittered, coolEnd - now));
      if (signers.length === 0) {
        // Nothing to wait on until a cooldown ends, an `onMail` settles, or members change.
        await this.#sleep(waitMs, cycle.signal);
        continue;
      }

      let ready: readonly string[];
      try {
        ({ ready } = await group.operator.waitForMail(signers, { waitMs, signal: cycle.signal }));
      } catch (error) {
        if (cycle.signal.aborted || hasEnded(group)) continue;
        const code = codeOf(error);
        if (code === 'NOT_FOUND' || REFUSALS.has(code)) {
          if (code !== 'NOT_FOUND') {
            this.#deps.logger.warn('bridge.wait_refused', { code, retryMs: this.#retryWaitMs });
          } else if (!this.#toldUnsupported) {
            this.#toldUnsupported = true;
            this.#deps.logger.warn('bridge.wait_unsupported', {
              pollMs: this.#deps.fallbackPollMs,
              retryMs: this.#retryWaitMs,
            });
          }
          polling = true;
          failures = 0;
          nextPollAt = now;
          retryWaitAt = now + this.#retryWaitMs;
          continue;
        }
        failures++;
        const delayMs = this.#backoff(failures);
        const fields = { code, retryMs: delayMs, failures };
        if (failures === 1) this.#deps.logger.warn('bridge.wait_failed', fields);
        else this.#deps.logger.debug('bridge.wait_failed', fields);
        await this.#sleep(delayMs, cycle.signal);
        continue;
      }
      if (hasEnded(group)) break;

      // Answered at once: a mailbox woken just before may still hold the same, unfetched mail.
      const atOnce = this.#now() - now < AT_ONCE_MS;
      const wake = new Set<string>();
      for (const name of ready) {
        const identity = asked.get(name);
        if (identity !== undefined) wake.add(identity);
      }
      if (failures > 0) {
        // No blanket fetch of every member: mail that came while waiting was down is still at
        // the Operator, so this answer (given at once when mail waits) names each such mailbox.
        // Fetching all would cost one circuit per identity after every outage.
        failures = 0;
        this.#deps.logger.info('bridge.wait_resumed', { members: group.members.size });
      }
      // Asked and not ready: its mail was fetched, so its next wake-up starts a fresh cooldown.
      for (const identity of asked.values()) {
        if (!wake.has(identity)) this.#cooling.delete(identity);
      }
      for (const identity of wake) {
        if (group.members.has(identity)) this.#notify(identity, true, atOnce);
      }
    }
  }
}
