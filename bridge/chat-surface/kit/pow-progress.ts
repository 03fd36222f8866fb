/**
 * Proof-of-work progress for chat surfaces: a percentage shown now and then by editing one
 * message (each edit is a platform request, so they are spaced and run one after another), and
 * at most one proof of work per user at a time.
 */

/** What {@link powProgress} gives the command and the surface. */
export interface PowProgress {
  /** Pass to the command (`CommandCaller.onProgress`). */
  readonly onProgress: (progress: { readonly tried: number; readonly expected: number }) => void;
  /** Resolves once every edit started has finished (show the answer after it). */
  settled(): Promise<void>;
}

/** Options for {@link powProgress}. */
export interface PowProgressOptions {
  /** Shows the percentage (edits the progress message); failures are ignored. */
  readonly show: (percent: number) => Promise<unknown>;
  /** The least time between two edits. @defaultValue 1000 */
  readonly everyMs?: number;
  readonly now?: () => number;
}

/**
 * Turns a proof of work's progress into spaced edits of one message. Percentages only grow and
 * stop at 99: 100 is the answer itself.
 * @example
 * ```ts
 * const progress = powProgress({ show: (p) => edit(say(working('register', name, p))) });
 * const view = await runCommand(spec, { ...caller, onProgress: progress.onProgress }, args);
 * await progress.settled();
 * ```
 */
export function powProgress(options: PowProgressOptions): PowProgress {
  const now = options.now ?? Date.now;
  const everyMs = options.everyMs ?? 1_000;
  let lastEdit = now();
  let lastPercent = 0;
  let edits: Promise<unknown> = Promise.resolve();
  return {
    onProgress: ({ tried, expected }) => {
      const percent = Math.min(99, Math.floor((100 * tried) / Math.max(1, expected)));
      if (percent <= lastPercent || now() - lastEdit < everyMs) return;
      lastEdit = now();
      lastPercent = percent;
      edits = edits.then(() => options.show(percent)).catch(() => undefined);
    },
    settled: async () => {
      await edits;
    },
  };
}

/** Users with a proof of work running: one each, so a second request is answered "busy". */
export class WorkingUsers {
  readonly #working = new Set<string>();

  /** @returns false when `user` already has one running (then do not start another) */
  start(user: string): boolean {
    if (this.#working.has(user)) return false;
    this.#working.add(user);
    return true;
  }

  finish(user: string): void {
    this.#working.delete(user);
  }

  has(user: string): boolean {
    return this.#working.has(user);
  }
}
