/**
 * What guessing gets by luck: the smallest number of hits that chance reaches with probability at
 * most `alpha`. A linker at or above it has learned something; below it, it did no better than a
 * coin (with `alpha` the test's false-alarm rate when the system leaks nothing).
 */

const logFactorials: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) {
    logFactorials.push((logFactorials[i - 1] ?? 0) + Math.log(i));
  }
  return logFactorials[n] ?? 0;
}

const logChoose = (n: number, k: number): number =>
  k < 0 || k > n ? -Infinity : logFactorial(n) - logFactorial(k) - logFactorial(n - k);

/** Smallest `h` with P(hits ≥ h) ≤ alpha, hits ~ Binomial(n, p). */
export function binomialThreshold(n: number, p: number, alpha: number): number {
  const pmf = (k: number): number =>
    p <= 0
      ? Number(k === 0)
      : p >= 1
        ? Number(k === n)
        : Math.exp(logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log(1 - p));
  let tail = 0;
  for (let h = n; h >= 0; h--) {
    tail += pmf(h);
    if (tail > alpha) return h + 1;
  }
  return 0;
}

/**
 * Smallest `h` with P(hits ≥ h) ≤ alpha when `draws` pairs are picked at random among `population`
 * of which `successes` are true (hypergeometric).
 */
export function hypergeometricThreshold(
  population: number,
  successes: number,
  draws: number,
  alpha: number,
): number {
  const denominator = logChoose(population, draws);
  const pmf = (k: number): number =>
    Math.exp(logChoose(successes, k) + logChoose(population - successes, draws - k) - denominator);
  let tail = 0;
  for (let h = Math.min(successes, draws); h >= 0; h--) {
    tail += pmf(h);
    if (tail > alpha) return h + 1;
  }
  return 0;
}

/** P(hits = k) for k = 0…min(successes, draws), as {@link hypergeometricThreshold} draws. */
export function hypergeometricPmf(population: number, successes: number, draws: number): number[] {
  const denominator = logChoose(population, draws);
  return Array.from({ length: Math.min(successes, draws) + 1 }, (_, k) =>
    Math.exp(logChoose(successes, k) + logChoose(population - successes, draws - k) - denominator),
  );
}

/** Smallest `h` with P(total ≥ h) ≤ alpha, the total being a sum of independent counts. */
export function sumThreshold(pmfs: readonly (readonly number[])[], alpha: number): number {
  let total: number[] = [1];
  for (const pmf of pmfs) {
    const next = new Array<number>(total.length + pmf.length - 1).fill(0);
    total.forEach((a, i) => {
      pmf.forEach((b, j) => {
        next[i + j] = (next[i + j] ?? 0) + a * b;
      });
    });
    total = next;
  }
  let tail = 0;
  for (let h = total.length - 1; h >= 0; h--) {
    tail += total[h] ?? 0;
    if (tail > alpha) return h + 1;
  }
  return 0;
}
