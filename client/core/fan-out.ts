/**
 * How a post to followers is spread over time: each copy is its own anonymous send, and the copies
 * leave at random moments over a window, so the Operator sees no burst naming a follower list.
 */

/** The window a fan-out is spread over. */
export interface FanOutWindow {
  /** The window grows by this much per copy (ms). */
  readonly perCopyMs: number;
  /** …up to this much in all (ms), so a large following still finishes in reasonable time. */
  readonly maxMs: number;
}

/**
 * Up to 2 s a copy, 30 s at most: a person waits for the command, with a progress line. Timing
 * still tells something: copies of one post leave within the window, so an Operator that sees few
 * sends in it can guess they belong together (the docs say so).
 */
export const DEFAULT_FAN_OUT_WINDOW: FanOutWindow = Object.freeze({
  perCopyMs: 2_000,
  maxMs: 30_000,
});

/**
 * The pauses before each of `copies` sends: `copies` moments drawn uniformly over the window
 * (`min(perCopyMs × copies, maxMs)`), sorted, as gaps from one to the next. A single copy also
 * waits a random moment, so a post to one follower looks like any other letter.
 *
 * @example
 * ```ts
 * fanOutDelays(3, randomBytes); // e.g. [1840, 310, 2975]: sums to at most 6000
 * ```
 */
export function fanOutDelays(
  copies: number,
  random: (length: number) => Uint8Array,
  window: FanOutWindow = DEFAULT_FAN_OUT_WINDOW,
): number[] {
  if (copies <= 0) return [];
  const span = Math.min(window.perCopyMs * copies, window.maxMs);
  if (span <= 0) return Array.from({ length: copies }, () => 0);
  const moments = Array.from({ length: copies }, () => {
    const bytes = random(4);
    const unit = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) / 2 ** 32;
    return Math.floor(unit * span);
  }).sort((a, b) => a - b);
  return moments.map((at, i) => at - (i === 0 ? 0 : (moments[i - 1] as number)));
}
