/** Retrying a Tor operation with exponential backoff while its failures are transient. */
import { isTransientTorError } from './tor-error.js';

/** Options for {@link retryWithBackoff}. */
export interface RetryOptions {
  /** Total tries, the first included. @defaultValue 5 */
  readonly attempts?: number;
  /** Delay before the first retry; doubled each time. @defaultValue 500 */
  readonly baseMs?: number;
  /** Upper bound on one delay. @defaultValue 30000 */
  readonly maxMs?: number;
  /** Which failures to retry. @defaultValue {@link isTransientTorError} */
  readonly retryIf?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log or show "onion not reachable yet, retrying". */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Stops waiting and rethrows the last error when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Runs `fn` until it succeeds, retrying transient failures with exponential backoff and ±20%
 * jitter (so retries from many identities do not fire in lockstep).
 *
 * @param fn - the operation; receives the 1-based attempt number.
 * @returns what `fn` returned.
 * @throws the last error once attempts run out, a non-retryable error at once.
 * @example
 * ```ts
 * const res = await retryWithBackoff(() => request(url, { dispatcher }), { attempts: 8 });
 * ```
 */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 5);
  const baseMs = options.baseMs ?? 500;
  const maxMs = options.maxMs ?? 30_000;
  const retryIf = options.retryIf ?? isTransientTorError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || !retryIf(error) || aborted(options.signal)) throw error;
      const exact = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
      const delayMs = Math.round(exact * (0.8 + Math.random() * 0.4));
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, options.signal);
      if (aborted(options.signal)) throw error;
    }
  }
}

/** A function, so the compiler does not keep a narrowing of `aborted` across an await. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
