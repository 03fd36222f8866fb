/** Discord's fixed-window rate limits and the headers that advertise them. */
import { createHash } from 'node:crypto';
import { seconds } from './replies.js';
import type { RateLimit } from './types.js';

/** One fixed window of a bucket. */
export class Window {
  #count = 0;
  #resetAt = 0;
  constructor(readonly rule: RateLimit) {}

  #roll(now: number): void {
    if (now >= this.#resetAt) {
      this.#count = 0;
      this.#resetAt = now + this.rule.windowMs;
    }
  }
  full(now: number): boolean {
    this.#roll(now);
    return this.#count >= this.rule.limit;
  }
  take(now: number): void {
    this.#roll(now);
    this.#count++;
  }
  remaining(now: number): number {
    this.#roll(now);
    return Math.max(0, this.rule.limit - this.#count);
  }
  resetAfterMs(now: number): number {
    this.#roll(now);
    return this.#resetAt - now;
  }
}

export interface Limiter {
  /** Shown in the headers. */
  readonly advertised: Window;
  /** Enforced without showing in the headers until it answers 429. */
  readonly hidden?: Window;
  readonly bucket: string;
}

export function rateHeaders(window: Window, bucket: string, now: number): Record<string, string> {
  const after = window.resetAfterMs(now);
  return {
    'X-RateLimit-Limit': String(window.rule.limit),
    'X-RateLimit-Remaining': String(window.remaining(now)),
    'X-RateLimit-Reset': seconds(now + after),
    'X-RateLimit-Reset-After': seconds(after),
    'X-RateLimit-Bucket': bucket,
  };
}

/** A stable, opaque bucket id per route, like the hashes Discord sends. */
export function bucketHash(route: string): string {
  return createHash('sha256').update(route).digest('hex').slice(0, 32);
}
