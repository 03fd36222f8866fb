/**
 * How well the linker did against the ground truth, beside what chance gets: the fraction of
 * letters whose sender it named, per clue and in all, and how many true follow relations are
 * among its top guesses.
 */
import { binomialThreshold, hypergeometricPmf, sumThreshold } from './chance.js';
import type { TrueLetter } from './ground-truth.js';
import { HEURISTICS, type Heuristic, type LinkerResult } from './linker.js';

/** The false-alarm rate of the chance thresholds: how often a linker that knows nothing passes. */
export const CHANCE_ALPHA = 0.001;

/** Hits beside the number at which luck alone stops explaining them. */
export interface Tally {
  readonly guesses: number;
  readonly hits: number;
  /** The chance of one hit for a guess that knows nothing. */
  readonly chance: number;
  /** Hits at or above this are better than chance (P ≤ CHANCE_ALPHA for a blind guesser). */
  readonly threshold: number;
}

export interface Score {
  /** The linker's answer for every letter whose truth is known. */
  readonly senders: Tally;
  /** Each clue alone, over the letters it named a sender for. */
  readonly byHeuristic: Readonly<Record<Heuristic, Tally>>;
  /** How the answers were decided (clue → letters). */
  readonly decidedBy: Readonly<Record<string, number>>;
  /** For each followee with k followers, the linker's k likeliest followers, all summed. */
  readonly follows: Tally;
  readonly trueFollows: number;
  /** The linker's top pairs (`follower>followee score`, `!` marks a wrong one) and those it missed. */
  readonly followPicks: readonly string[];
  readonly followMissed: readonly string[];
  /** Sealed lengths seen per true kind. */
  readonly sizesByKind: Readonly<Record<string, readonly number[]>>;
}

const tally = (guesses: number, hits: number, chance: number): Tally => ({
  guesses,
  hits,
  chance,
  threshold: binomialThreshold(guesses, chance, CHANCE_ALPHA),
});

/** Scores `result` against `truth` for `names.length` komrades. */
export function scoreLinker(
  result: LinkerResult,
  truth: ReadonlyMap<string, TrueLetter>,
  follows: ReadonlySet<string>,
  names: readonly string[],
): Score {
  // A sender is never the recipient: a blind guess picks one of the others.
  const chance = 1 / (names.length - 1);
  const judged = result.letters.filter((guess) => truth.has(guess.letter.key));
  const isHit = (key: string, sender: string) => truth.get(key)?.from === sender;
  const senders = tally(
    judged.length,
    judged.filter((g) => isHit(g.letter.key, g.sender)).length,
    chance,
  );
  const byHeuristic = Object.fromEntries(
    HEURISTICS.map((heuristic) => {
      const named = judged.filter((g) => g.byHeuristic[heuristic] !== undefined);
      const hits = named.filter((g) => isHit(g.letter.key, g.byHeuristic[heuristic] ?? ''));
      return [heuristic, tally(named.length, hits.length, chance)];
    }),
  ) as Record<Heuristic, Tally>;
  const decidedBy: Record<string, number> = {};
  for (const guess of judged) decidedBy[guess.decidedBy] = (decidedBy[guess.decidedBy] ?? 0) + 1;

  // Follows, followee by followee: the Operator sees whom letters go to, so who is followed at
  // all may show; the claim is that it cannot tell *who* follows them. For each followee with k
  // true followers, the linker's k likeliest followers are checked; a blind pick of k among the
  // other komrades is the chance each is judged against.
  const followersOf = new Map<string, Set<string>>();
  for (const pair of follows) {
    const [follower = '', followee = ''] = pair.split('>');
    followersOf.set(followee, (followersOf.get(followee) ?? new Set()).add(follower));
  }
  const followPicks: string[] = [];
  const followMissed: string[] = [];
  const pmfs: number[][] = [];
  let followHits = 0;
  for (const [followee, followers] of followersOf) {
    const picks = result.follows.filter((g) => g.followee === followee).slice(0, followers.size);
    for (const pick of picks) {
      const hit = followers.has(pick.follower);
      if (hit) followHits += 1;
      followPicks.push(`${hit ? '' : '!'}${pick.follower}>${followee} ${pick.score}`);
    }
    const picked = new Set(picks.map((p) => p.follower));
    for (const follower of followers) {
      if (!picked.has(follower)) followMissed.push(`${follower}>${followee}`);
    }
    pmfs.push(hypergeometricPmf(names.length - 1, followers.size, followers.size));
  }
  const followTally: Tally = {
    guesses: follows.size,
    hits: followHits,
    chance:
      [...followersOf.values()].reduce(
        (sum, f) => sum + (f.size * f.size) / (names.length - 1),
        0,
      ) / Math.max(1, follows.size),
    threshold: sumThreshold(pmfs, CHANCE_ALPHA),
  };

  const sizes: Record<string, Set<number>> = {};
  for (const letter of truth.values()) {
    (sizes[letter.kind] ??= new Set()).add(letter.sealedLength);
  }
  return {
    senders,
    byHeuristic,
    decidedBy,
    follows: followTally,
    trueFollows: follows.size,
    followPicks,
    followMissed,
    sizesByKind: Object.fromEntries(
      Object.entries(sizes).map(([kind, set]) => [kind, [...set].sort((a, b) => a - b)]),
    ),
  };
}

const percent = (part: number, whole: number) =>
  whole === 0 ? '—' : `${((100 * part) / whole).toFixed(0)}%`;

/** A few lines for the test's output: what each clue found. */
export function describeScore(score: Score): string {
  const line = (label: string, t: Tally) =>
    `${label.padEnd(18)} ${String(t.hits).padStart(3)}/${String(t.guesses).padEnd(3)} ` +
    `(${percent(t.hits, t.guesses)}; chance ${(100 * t.chance).toFixed(0)}%, ` +
    `better than chance from ${t.threshold})`;
  return [
    line('senders (answer)', score.senders),
    ...HEURISTICS.map((h) => line(`  clue ${h}`, score.byHeuristic[h])),
    `  decided by: ${JSON.stringify(score.decidedBy)}`,
    line('follows (top k each)', score.follows),
    `  picked: ${score.followPicks.join(', ')}; missed: ${score.followMissed.join(', ') || 'none'}`,
    `  sealed sizes by kind: ${JSON.stringify(score.sizesByKind)}`,
  ].join('\n');
}

/** Prints a run's summary and score (the test's output shows what each clue found). */
export function reportObservation(summary: string): void {
  console.log(summary);
}
