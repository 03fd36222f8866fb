/** The linker's ranking of who follows whom, from its letter guesses. */
import type { ChaosRandom } from '../chaos-random.js';
import type { FollowGuess, LetterGuess } from './linker.js';

/**
 * Ranks follower→followee pairs: a follow-sized letter from A to B says A follows B (until an
 * unfollow-sized one); otherwise a copy of B's burst reaching A says A follows B; any other letter
 * from A to B might be a follow.
 */
export function rankFollows(
  letters: readonly LetterGuess[],
  names: readonly string[],
  random: ChaosRandom,
): FollowGuess[] {
  const score = new Map<string, number>();
  const key = (follower: string, followee: string) => `${follower}>${followee}`;
  const add = (follower: string, followee: string, points: number) => {
    score.set(key(follower, followee), (score.get(key(follower, followee)) ?? 0) + points);
  };
  const ordered = [...letters].sort((a, b) => a.letter.request.at - b.letter.request.at);
  for (const guess of ordered) {
    const { sender } = guess;
    const { to } = guess.letter;
    if (guess.sizeKind === 'follow') score.set(key(sender, to), 3);
    else if (guess.sizeKind === 'unfollow') score.set(key(sender, to), -3);
    else if (guess.burst !== undefined) add(to, sender, 2);
    else if (guess.sizeKind === 'statement') add(sender, to, 1.5);
    else add(sender, to, 0.5);
  }
  const pairs: (FollowGuess & { tie: number })[] = [];
  for (const follower of names) {
    for (const followee of names) {
      if (follower === followee) continue;
      pairs.push({
        follower,
        followee,
        score: score.get(key(follower, followee)) ?? 0,
        tie: random.next(),
      });
    }
  }
  pairs.sort((a, b) => b.score - a.score || a.tie - b.tie);
  return pairs.map(({ follower, followee, score: s }) => ({ follower, followee, score: s }));
}
