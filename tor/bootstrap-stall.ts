/** Noticing a tor bootstrap that stopped moving, so a waiting user hears why nothing happens. */
import type { BootstrapProgress } from './bootstrap-phase.js';

/** A bootstrap that has not moved for a while. */
export interface BootstrapStall {
  /** The last progress tor reported. */
  readonly progress: BootstrapProgress;
  /** How long it has not moved, in milliseconds. */
  readonly stalledMs: number;
}

/** Options for {@link BootstrapStallWatch}. */
export interface BootstrapStallWatchOptions {
  /** How long without a change counts as stalled, and how often a stall is reported again. */
  readonly stallMs: number;
  /** The clock. @defaultValue `Date.now` */
  readonly now?: () => number;
}

/**
 * Tracks bootstrap phases and says, at most once per `stallMs`, when none changed for `stallMs`.
 * It holds no timer: the caller feeds it phases and polls {@link BootstrapStallWatch.check}.
 *
 * @example
 * ```ts
 * const watch = new BootstrapStallWatch({ stallMs: 30_000 });
 * watch.observe(progress);                   // on every BOOTSTRAP status
 * const stall = watch.check();               // from a timer
 * if (stall) show(describeBootstrapStall(stall));
 * ```
 */
export class BootstrapStallWatch {
  readonly #stallMs: number;
  readonly #now: () => number;
  #last: BootstrapProgress | undefined;
  #changedAt: number;
  #reportedAt: number | undefined;

  constructor(options: BootstrapStallWatchOptions) {
    this.#stallMs = options.stallMs;
    this.#now = options.now ?? Date.now;
    this.#changedAt = this.#now();
  }

  /** Records a phase; a new percentage or tag restarts the wait, a repeat only refreshes it. */
  observe(progress: BootstrapProgress): void {
    const last = this.#last;
    if (last === undefined || last.percent !== progress.percent || last.tag !== progress.tag) {
      this.#changedAt = this.#now();
      this.#reportedAt = undefined;
    }
    // Keep the newest summary and warning even when the phase is the same.
    this.#last = progress;
  }

  /**
   * @returns the stall when nothing changed for `stallMs` and none was reported in the last
   * `stallMs`; `undefined` otherwise, before the first phase, and once tor is at 100%.
   */
  check(): BootstrapStall | undefined {
    const last = this.#last;
    if (last === undefined || last.percent >= 100) return undefined;
    const now = this.#now();
    const since = this.#reportedAt ?? this.#changedAt;
    if (now - since < this.#stallMs) return undefined;
    this.#reportedAt = now;
    return { progress: last, stalledMs: now - this.#changedAt };
  }
}

/**
 * Tor's bootstrap warnings are often a bare OR-connection end reason (`DONE`, `CONNECTREFUSED`):
 * said in words, since "tor warns: DONE" tells nobody anything.
 */
const END_REASONS: Readonly<Record<string, string>> = {
  DONE: 'a connection to a relay was closed',
  CONNECTREFUSED: 'a relay refused the connection',
  IDENTITY: "a relay's identity did not match what the directory says",
  CONNECTRESET: 'a connection to a relay was reset',
  TIMEOUT: 'a connection to a relay timed out',
  NOROUTE: 'no route to a relay (is the network up?)',
  IOERROR: 'a connection to a relay failed (I/O error)',
  RESOURCELIMIT: 'this machine ran out of sockets or memory',
  PT_MISSING: 'a pluggable transport it needs is missing',
  MISC: 'a connection to a relay failed',
};

/** A bootstrap warning in words (Tor's own text when it is more than a reason code). */
export const describeBootstrapWarning = (warning: string): string =>
  END_REASONS[warning.toUpperCase()] ?? warning;

/** `Tor bootstrap stalled at 45% (Loading relay descriptors; tor warns: …) for 30 s; still waiting` */
export function describeBootstrapStall(stall: BootstrapStall): string {
  const { percent, summary, warning } = stall.progress;
  const details = [
    summary,
    ...(warning === undefined ? [] : [`tor warns: ${describeBootstrapWarning(warning)}`]),
  ]
    .filter((part) => part.length > 0)
    .join('; ');
  const why = details.length === 0 ? '' : ` (${details})`;
  return `Tor bootstrap stalled at ${percent}%${why} for ${Math.round(stall.stalledMs / 1_000)} s; still waiting`;
}
