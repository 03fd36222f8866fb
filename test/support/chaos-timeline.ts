/** What happened when during a chaos run: faults, restarts and letters, in ms since the start. */

/** One moment of the run. */
export interface ChaosEvent {
  /** ms since the run started. */
  readonly t: number;
  readonly what: string;
}

/** The run's clock and its list of events. */
export class ChaosTimeline {
  readonly #t0 = Date.now();
  readonly events: ChaosEvent[] = [];

  /** ms since the run started. */
  now(): number {
    return Date.now() - this.#t0;
  }

  /** A wall-clock time (`Date.now()`) as ms since the run started. */
  at(wallClock: number): number {
    return wallClock - this.#t0;
  }

  note(what: string): void {
    this.events.push({ t: this.now(), what });
  }

  /** The events between `from` and `to` (ms since the start), one per line. */
  around(from: number, to: number): string[] {
    return this.events
      .filter((e) => e.t >= from && e.t <= to)
      .map((e) => `${formatT(e.t)} ${e.what}`);
  }
}

/** `12.345s`. */
export const formatT = (t: number): string => `${(t / 1000).toFixed(3)}s`;
