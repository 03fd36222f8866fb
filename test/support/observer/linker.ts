/**
 * The attacker: an Operator that records everything it sees and tries to say, for each letter it
 * delivered, who sent it, and who follows whom. Written to win: every clue an Operator has is
 * tried, the most reliable first. It is given no ground truth, only the observation, the public
 * registry of names, and the project's own code (to learn what sizes follows and unfollows have).
 */
import { ROUTES } from '../../../common/wire/index.js';
import { ChaosRandom } from '../chaos-random.js';
import { findBursts } from './bursts.js';
import { deliveredLetters, jsonOf, type DeliveredLetter } from './delivered-letters.js';
import { closest, receivedTimesOnDisk, signedRequestTimesOnDisk } from './disk-clues.js';
import { rankFollows } from './follow-ranking.js';
import type { Observation, ObservedRequest } from './observation.js';
import { circuitOwners, requestIdentities, type RequestIdentity } from './request-identities.js';
import { SizeProbe, type SizeKind } from './size-probe.js';

/** The linker's clues, most reliable first: the first one that names a sender wins. */
export const HEURISTICS = [
  /** The send request itself names its maker (a signed header, a session, …). */
  'signature',
  /** The send came on a circuit (or connection) its maker also used for an identified request. */
  'circuit',
  /**
   * Bytes of the send (its token, anything but the letter) that an identified request carried or
   * was answered with: a token the Operator could tie to its issuance.
   */
  'shared-bytes',
  /** On a copy of the disk: a replay-guard row (name, time) next to the letter's received_at. */
  'disk-join',
  /** Shortly before, someone fetched the recipient's keys (`GET /v1/komrades/<to>`). */
  'recipient-lookup',
  /** A burst of same-size letters to several recipients (a post to followers) shares a sender. */
  'batch',
  /** The identified request answered just before the send (token issuance, fetch, …). */
  'timing',
  /** The sealed size is that of a follow or unfollow from a name of one length only. */
  'size',
] as const;
export type Heuristic = (typeof HEURISTICS)[number];

export type { SizeKind } from './size-probe.js';

/** The linker's answer for one letter. */
export interface LetterGuess {
  readonly letter: DeliveredLetter;
  /** What each clue alone says (absent: that clue found nothing). */
  readonly byHeuristic: Readonly<Partial<Record<Heuristic, string>>>;
  /** The answer: the first clue's guess, else a guess at random among the other komrades. */
  readonly sender: string;
  readonly decidedBy: Heuristic | 'random';
  readonly sizeKind: SizeKind;
  /** The burst (a presumed post to followers) it belongs to, if any. */
  readonly burst: number | undefined;
}

/** One ordered pair and how strongly the linker believes the first follows the second. */
export interface FollowGuess {
  readonly follower: string;
  readonly followee: string;
  readonly score: number;
}

export interface LinkerResult {
  readonly letters: readonly LetterGuess[];
  /** Every ordered pair of komrades, the likeliest follow relations first. */
  readonly follows: readonly FollowGuess[];
}

export interface LinkerOptions {
  /** Seeds the coin the linker tosses when it knows nothing, and its tie-breaks. */
  readonly seed: number;
  /** How far back "just before" reaches. @defaultValue 5000 ms */
  readonly timingWindowMs?: number;
  /** How far back a lookup of the recipient counts. @defaultValue 60000 ms */
  readonly lookupWindowMs?: number;
  /** Letters of one burst arrive at most this far apart. @defaultValue 1500 ms */
  readonly burstGapMs?: number;
}

/**
 * Guesses the sender of every delivered letter and ranks who follows whom.
 * @param names - every registered name (the Operator's public registry)
 */
export function link(
  observation: Observation,
  names: readonly string[],
  options: LinkerOptions,
): LinkerResult {
  const random = new ChaosRandom(options.seed);
  const timingWindow = options.timingWindowMs ?? 5_000;
  const lookupWindow = options.lookupWindowMs ?? 60_000;
  const burstGap = options.burstGapMs ?? 1_500;
  const requests = observation.requests;
  const letters = deliveredLetters(requests);
  const identities = requestIdentities(requests);
  const owners = circuitOwners(requests, identities);
  const connectionOwners = ownersBy(requests, identities, (r) => r.connection);

  /** Who the Operator can say made a request: itself, else its circuit's main owner. */
  const makerOf = (request: ObservedRequest, not: string): string | undefined => {
    const own = identities.get(request.seq)?.name;
    if (own !== undefined) return own === not ? undefined : own;
    return topOwner(
      request.circuit === undefined ? undefined : owners.get(request.circuit),
      not,
      random,
    );
  };

  // Every distinctive string an identified request sent or was answered with, and whose it was.
  const identifiedHolders = new Map<string, string>();
  for (const request of requests) {
    const identity = identities.get(request.seq);
    if (identity === undefined) continue;
    for (const bytes of [request.body, request.answer]) {
      for (const piece of distinctivePieces(bytes)) identifiedHolders.set(piece, identity.name);
    }
  }

  const sizes = new SizeProbe(names);
  const diskTimes = receivedTimesOnDisk(observation);
  const nonceTimes = signedRequestTimesOnDisk(observation);
  const anonymous = (circuit: number | undefined) =>
    circuit !== undefined && (owners.get(circuit)?.size ?? 0) === 0;
  const bursts = findBursts(letters, burstGap, anonymous);

  const guesses = letters.map((letter): LetterGuess => {
    const { request, to } = letter;
    const by: Partial<Record<Heuristic, string>> = {};
    const own = identities.get(request.seq);
    if (own !== undefined && own.name !== to) by.signature = own.name;

    const onCircuit =
      topOwner(
        request.circuit === undefined ? undefined : without(owners.get(request.circuit), own),
        to,
        random,
      ) ?? topOwner(without(connectionOwners.get(request.connection), own), to, random);
    if (onCircuit !== undefined) by.circuit = onCircuit;

    for (const piece of distinctivePieces(request.body)) {
      const holder = identifiedHolders.get(piece);
      if (holder !== undefined && holder !== to) {
        by['shared-bytes'] = holder;
        break;
      }
    }

    const receivedAt = letter.id === undefined ? undefined : diskTimes.get(letter.id);
    if (receivedAt !== undefined) {
      const joined = closest(nonceTimes, receivedAt, to, 3_000, 1_000);
      if (joined !== undefined) by['disk-join'] = joined;
    }

    const lookupPath = `${ROUTES.komrade}${to}`;
    for (let i = request.seq - 1; i >= 0; i--) {
      const earlier = requests[i];
      if (earlier === undefined || earlier.answeredAt > request.at) continue;
      if (request.at - earlier.answeredAt > lookupWindow) break;
      if (earlier.method !== 'GET' || earlier.path !== lookupPath) continue;
      const maker = makerOf(earlier, to);
      if (maker !== undefined) {
        by['recipient-lookup'] = maker;
        break;
      }
    }

    let latest: { at: number; maker: string } | undefined;
    for (const earlier of requests) {
      if (earlier.seq === request.seq || earlier.answeredAt > request.at) continue;
      if (request.at - earlier.answeredAt > timingWindow) continue;
      const maker = makerOf(earlier, to);
      if (maker === undefined) continue;
      if (latest === undefined || earlier.answeredAt > latest.at) {
        latest = { at: earlier.answeredAt, maker };
      }
    }
    if (latest !== undefined) by.timing = latest.maker;

    const sized = sizes.classify(letter.sealed.length, to);
    const candidates =
      sized.senderLengths === undefined
        ? []
        : names.filter((n) => n !== to && sized.senderLengths?.has(n.length) === true);
    if (candidates.length === 1 && candidates[0] !== undefined) by.size = candidates[0];

    return {
      letter,
      byHeuristic: by,
      sender: '',
      decidedBy: 'random',
      sizeKind: sized.kind,
      burst: bursts.get(letter.key),
    };
  });

  // A burst's letters share one sender: the one its letters' surest clues name most often.
  const votes = new Map<number, Map<string, { count: number; rank: number }>>();
  for (const guess of guesses) {
    if (guess.burst === undefined) continue;
    const rank = HEURISTICS.findIndex((h) => guess.byHeuristic[h] !== undefined);
    const named = rank === -1 ? undefined : guess.byHeuristic[HEURISTICS[rank] ?? 'size'];
    if (named === undefined) continue;
    const tally = votes.get(guess.burst) ?? new Map<string, { count: number; rank: number }>();
    const seen = tally.get(named) ?? { count: 0, rank };
    tally.set(named, { count: seen.count + 1, rank: Math.min(seen.rank, rank) });
    votes.set(guess.burst, tally);
  }
  const burstSenders = new Map<number, string>();
  for (const [burst, tally] of votes) {
    const [winner] = [...tally].sort((a, b) => b[1].count - a[1].count || a[1].rank - b[1].rank);
    if (winner !== undefined) burstSenders.set(burst, winner[0]);
  }

  const decided = guesses.map((guess): LetterGuess => {
    const by = { ...guess.byHeuristic };
    const burstSender = guess.burst === undefined ? undefined : burstSenders.get(guess.burst);
    if (burstSender !== undefined && burstSender !== guess.letter.to) by.batch = burstSender;
    // Once a sender is named, the size says the kind exactly for a sender of that name's length.
    const decide = (sender: string, decidedBy: Heuristic | 'random'): LetterGuess => ({
      ...guess,
      byHeuristic: by,
      sender,
      decidedBy,
      sizeKind: sizes.classify(guess.letter.sealed.length, guess.letter.to, sender.length).kind,
    });
    for (const heuristic of HEURISTICS) {
      const named = by[heuristic];
      if (named !== undefined) return decide(named, heuristic);
    }
    return decide(random.pick(names.filter((n) => n !== guess.letter.to)), 'random');
  });

  return { letters: decided, follows: rankFollows(decided, names, random) };
}

/**
 * The long base64url strings of a JSON body (keys, tokens, proofs, session ids) in 32-character
 * pieces (a value may travel inside a longer one). Sealed letters are left out: a letter's bytes
 * reach its recipient's fetch by design and say nothing about its sender.
 */
function distinctivePieces(body: Buffer): string[] {
  const out: string[] = [];
  const walk = (value: unknown, key: string): void => {
    if (key === 'sealed' || key === 'body') return;
    if (typeof value === 'string') {
      for (const [run] of value.matchAll(/[A-Za-z0-9_-]{32,}/g)) {
        for (let i = 0; i + 32 <= run.length && i < 4_096; i += 32) out.push(run.slice(i, i + 32));
      }
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, key);
    } else if (isRecord(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(jsonOf(body), '');
  return out;
}

/** Owners of a circuit, leaving out the request being judged. */
function without(
  owners: ReadonlyMap<string, number> | undefined,
  own: RequestIdentity | undefined,
): ReadonlyMap<string, number> | undefined {
  if (owners === undefined || own === undefined) return owners;
  const left = new Map(owners);
  const count = (left.get(own.name) ?? 0) - 1;
  if (count > 0) left.set(own.name, count);
  else left.delete(own.name);
  return left;
}

function ownersBy(
  requests: readonly ObservedRequest[],
  identities: ReadonlyMap<number, RequestIdentity>,
  key: (request: ObservedRequest) => number,
): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const request of requests) {
    const identity = identities.get(request.seq);
    if (identity === undefined) continue;
    const owners = out.get(key(request)) ?? new Map<string, number>();
    owners.set(identity.name, (owners.get(identity.name) ?? 0) + 1);
    out.set(key(request), owners);
  }
  return out;
}

/** The name that identified itself most often, other than `not` (ties broken at random). */
function topOwner(
  owners: ReadonlyMap<string, number> | undefined,
  not: string,
  random: ChaosRandom,
): string | undefined {
  if (owners === undefined) return undefined;
  let best: string[] = [];
  let bestCount = 0;
  for (const [name, count] of owners) {
    if (name === not || count <= 0) continue;
    if (count > bestCount) {
      best = [name];
      bestCount = count;
    } else if (count === bestCount) best.push(name);
  }
  return best.length === 0 ? undefined : random.pick(best);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
