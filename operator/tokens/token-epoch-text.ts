/** How a refusal says when the next token epoch starts: a UTC time, and how long from now. */
import { tokenEpochEnd } from '../../common/wire/index.js';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/**
 * When the epoch after `epoch` starts, e.g. `at 00:00 UTC on 2026-12-04, in 5 h`.
 * @param now - the request's time, in `epoch`
 */
export function nextEpochText(epoch: number, now: number): string {
  const start = tokenEpochEnd(epoch);
  const day = new Date(start).toISOString().slice(0, 10);
  const left = Math.max(0, start - now);
  const wait =
    left >= HOUR_MS
      ? `${Math.ceil(left / HOUR_MS)} h`
      : `${Math.max(1, Math.ceil(left / MINUTE_MS))} min`;
  return `at 00:00 UTC on ${day}, in ${wait}`;
}
