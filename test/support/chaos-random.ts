/**
 * The chaos test's seeded randomness: one seed picks every fault, delay and letter, so a failing
 * run can be replayed with `KOMRADE_CHAOS_SEED` (the processes' own timing still varies).
 */

/** A seeded pseudo-random source (mulberry32: small, fast, good enough to pick faults). */
export class ChaosRandom {
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** A copy of `items` in random order. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

/** The seed from `KOMRADE_CHAOS_SEED` (decimal), or a fresh one. */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.KOMRADE_CHAOS_SEED;
  if (given !== undefined && given !== '') {
    if (!/^\d{1,10}$/.test(given) || Number(given) > 0xffffffff) {
      throw new Error('KOMRADE_CHAOS_SEED must be a decimal number below 2^32');
    }
    return Number(given);
  }
  return Math.floor(Math.random() * 0xffffffff) >>> 0;
}
