/** What a person sees while a proof of work runs: time so far and how long one usually takes. */
import type { PowProgress } from '../../common/wire/index.js';
import type { Output } from './output.js';

const SPINNER = ['|', '/', '-', '\\'] as const;

/** The `onSolving` / `onProgress` callbacks `register` and `collective create` pass on. */
export interface PowProgressCallbacks {
  readonly onSolving: (solving: { readonly expected: number }) => void;
  readonly onProgress: (progress: PowProgress) => void;
}

/**
 * Progress for a proof of work. A search has no known end (a lucky one finishes at once, an
 * unlucky one takes several times the average), so it shows the time spent and the typical time
 * measured from this machine's hash rate, never a percentage that could pass 100.
 * @param now - a clock in milliseconds
 */
export function powProgress(output: Output, now: () => number): PowProgressCallbacks {
  let started = now();
  let frame = 0;
  return {
    onSolving: () => {
      started = now();
      output.progress(
        'Solving a proof of work (it keeps the Operator free of mass sign-ups; it takes a moment)…',
      );
    },
    onProgress: (progress) => {
      output.progressUpdate(describePowProgress(progress, now() - started, frame++));
    },
  };
}

/**
 * One progress line, e.g. `/ Proof of work: 4 s so far (usually about 9 s on this machine)`.
 * @param elapsedMs - time since the search started
 * @param frame - the spinner frame
 */
export function describePowProgress(progress: PowProgress, elapsedMs: number, frame = 0): string {
  const spinner = SPINNER[frame % SPINNER.length] ?? '|';
  const seconds = Math.floor(elapsedMs / 1000);
  const head = `${spinner} Proof of work: ${seconds} s so far`;
  if (progress.tried <= 0 || elapsedMs <= 0) return head;
  const typicalSeconds = Math.max(
    1,
    Math.round((progress.expected / progress.tried) * (elapsedMs / 1000)),
  );
  const tail =
    seconds > typicalSeconds
      ? `usually about ${typicalSeconds} s on this machine; some take longer`
      : `usually about ${typicalSeconds} s on this machine`;
  return `${head} (${tail})`;
}
