/**
 * Property tests on generated histories (a seeded PRNG, so every failure replays): the fold equals
 * incremental appends, admissions and enactments always met their rule (checked by a naive oracle
 * written independently of the engine), and tampering with any byte breaks the log.
 */
import { describe, expect, it } from 'vitest';
import {
  CollectiveLog,
  DEFAULT_CONSTITUTION,
  foldLog,
  quorumFor,
  votesRequired,
  type CollectiveEvent,
  type Constitution,
  type SignedCollectiveEvent,
  decodeCollectiveEvent,
} from '../../../common/collectives/index.js';
import { CollectiveWriter } from '../../support/collective-writer.js';

/** mulberry32: a tiny seeded PRNG, good enough to pick test actions. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 60 * 60 * 1000;
const PEOPLE = Array.from({ length: 14 }, (_, i) => `person${i}`);

function constitutionFor(random: () => number): Constitution {
  const quorums: Constitution['quorum'][] = [
    { fixed: 1 },
    { fixed: 2 },
    { fixed: 3 },
    DEFAULT_CONSTITUTION.quorum,
    { fraction: { num: 1, den: 2 }, min: 1 },
  ];
  return {
    ...DEFAULT_CONSTITUTION,
    quorum: quorums[Math.floor(random() * quorums.length)] ?? { fixed: 1 },
    votingWindowMs: (1 + Math.floor(random() * 6)) * HOUR,
  };
}

/**
 * A random valid history of about `steps` attempts: each attempt is a random act by a random
 * person, appended only if the engine accepts it, so refused attempts are exercised too.
 */
function generate(seed: number, steps: number): CollectiveWriter {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(random() * items.length)];
    if (item === undefined) throw new Error('empty pick');
    return item;
  };
  const w = new CollectiveWriter();
  const founders = PEOPLE.slice(0, 1 + Math.floor(random() * 3));
  w.genesis('portland', founders, constitutionFor(random));
  for (let i = 0; i < steps; i++) {
    const state = w.log.state();
    const members = state.members.length > 0 ? state.members : PEOPLE;
    const candidates = state.pending.map((p) => p.candidate);
    const proposals = [...state.proposals.map((p) => p.seq), w.log.length - 1];
    const advance = random() < 0.2 ? Math.floor(random() * 4 * HOUR) : Math.floor(random() * 5_000);
    const member = pick(members);
    const roll = random();
    if (roll < 0.15) w.tryAct('join-request', pick(PEOPLE), { note: '' }, advance);
    else if (roll < 0.45 && candidates.length > 0) {
      w.tryAct(
        'vouch',
        random() < 0.9 ? member : pick(PEOPLE),
        { candidate: pick(candidates) },
        advance,
      );
    } else if (roll < 0.6 && candidates.length > 0) {
      const candidate = pick(candidates);
      w.tryAct('admit', random() < 0.5 ? candidate : member, { candidate }, advance);
    } else if (roll < 0.65) w.tryAct('leave', pick(PEOPLE), {}, advance);
    else if (roll < 0.72) {
      const change =
        random() < 0.5
          ? { action: 'amend' as const, constitution: constitutionFor(random) }
          : { action: 'remove' as const, member: pick(members) };
      w.tryAct('proposal', member, change, advance);
    } else if (roll < 0.92) {
      w.tryAct('vote', member, { proposal: pick(proposals), yes: random() < 0.7 }, advance);
    } else w.tryAct('enactment', member, { proposal: pick(proposals) }, advance);
  }
  return w;
}

function decoded(events: readonly SignedCollectiveEvent[]): CollectiveEvent[] {
  return events.map((e) => {
    const d = decodeCollectiveEvent(e.signed);
    if (!d.ok) throw d.error;
    return d.value;
  });
}

/**
 * The naive oracle: for each admit and enactment, recompute from scratch (scanning the whole
 * prefix) the members, the constitution, and the distinct vouches or yes votes by people who were
 * members without interruption from their vouch or vote until then.
 */
function checkWithOracle(events: readonly CollectiveEvent[]): {
  admits: number;
  enactments: number;
} {
  let admits = 0;
  let enactments = 0;
  const membersAt = (i: number): Set<string>[] => {
    const history: Set<string>[] = [];
    let members = new Set<string>();
    for (let j = 0; j < i; j++) {
      const e = events[j]!;
      members = new Set(members);
      if (e.kind === 'genesis') members = new Set(e.body.founders);
      if (e.kind === 'admit') members.add(e.body.candidate);
      if (e.kind === 'leave') members.delete(e.actor);
      if (e.kind === 'enactment') {
        const p = events[e.body.proposal]!;
        if (p.kind === 'proposal' && p.body.action === 'remove') members.delete(p.body.member);
      }
      history.push(members);
    }
    return history;
  };
  const constitutionAt = (i: number): Constitution => {
    let c = DEFAULT_CONSTITUTION;
    for (let j = 0; j < i; j++) {
      const e = events[j]!;
      if (e.kind === 'genesis') c = e.body.constitution;
      if (e.kind === 'enactment') {
        const p = events[e.body.proposal]!;
        if (p.kind === 'proposal' && p.body.action === 'amend') c = p.body.constitution;
      }
    }
    return c;
  };
  /** True when `name` was a member after every event from `from` up to `i` (exclusive). */
  const memberThroughout = (history: Set<string>[], name: string, from: number, i: number) =>
    history.slice(from, i).every((m) => m.has(name));

  events.forEach((e, i) => {
    if (e.kind !== 'admit' && e.kind !== 'enactment') return;
    const history = membersAt(i);
    const size = history[i - 1]!.size;
    if (e.kind === 'admit') {
      const candidate = e.body.candidate;
      const requested = events.findLastIndex(
        (r, j) => j < i && r.kind === 'join-request' && r.actor === candidate,
      );
      const vouchers = new Set(
        events
          .map((v, j) => ({ v, j }))
          .filter(({ v, j }) => j > requested && j < i && v.kind === 'vouch')
          .filter(({ v }) => v.kind === 'vouch' && v.body.candidate === candidate)
          .filter(({ v, j }) => memberThroughout(history, v.actor, j, i))
          .map(({ v }) => v.actor),
      );
      expect(vouchers.size).toBeGreaterThanOrEqual(quorumFor(constitutionAt(i).quorum, size));
      admits++;
    } else {
      const seq = e.body.proposal;
      const proposal = events[seq]!;
      if (proposal.kind !== 'proposal') throw new Error('enactment of a non-proposal');
      const rules = constitutionAt(seq);
      expect(e.at).toBeLessThanOrEqual(proposal.at + rules.votingWindowMs);
      const yes = new Set(
        events
          .map((v, j) => ({ v, j }))
          .filter(({ v, j }) => j > seq && j < i && v.kind === 'vote')
          .filter(({ v }) => v.kind === 'vote' && v.body.proposal === seq && v.body.yes)
          .filter(({ v }) => v.at <= proposal.at + rules.votingWindowMs)
          .filter(({ v, j }) => memberThroughout(history, v.actor, j, i))
          .map(({ v }) => v.actor),
      );
      const threshold = proposal.body.action === 'amend' ? rules.amendment : rules.removal;
      expect(yes.size).toBeGreaterThanOrEqual(votesRequired(threshold, size));
      enactments++;
    }
  });
  return { admits, enactments };
}

const SEEDS = Array.from({ length: 12 }, (_, i) => 1 + i * 7919);

describe('generated histories', () => {
  it.each(SEEDS)('seed %i: foldLog equals appending one event at a time', (seed) => {
    const w = generate(seed, 250);
    const folded = foldLog(w.events, w.registry);
    expect(folded.ok && folded.value).toEqual(w.log.state());
    const log = new CollectiveLog(w.registry);
    for (const event of w.events) {
      const before = log.length > 0 ? log.state() : undefined;
      expect(log.canAppend(event).ok).toBe(true);
      expect(log.length > 0 ? log.state() : undefined).toEqual(before);
      expect(log.append(event).ok).toBe(true);
    }
    expect(log.state()).toEqual(folded.ok && folded.value);
  });

  it('generates histories that actually admit, amend and remove', () => {
    let admits = 0;
    let enactments = 0;
    for (const seed of SEEDS) {
      const counts = checkWithOracle(decoded(generate(seed, 250).events));
      admits += counts.admits;
      enactments += counts.enactments;
    }
    // The generator is only useful if the interesting events happen.
    expect(admits).toBeGreaterThan(20);
    expect(enactments).toBeGreaterThan(3);
  });

  it.each(SEEDS)('seed %i: a tampered byte anywhere breaks the fold at that event', (seed) => {
    const random = prng(seed ^ 0x5eed);
    const w = generate(seed, 60);
    for (let trial = 0; trial < 40; trial++) {
      const index = Math.floor(random() * w.events.length);
      const event = w.events[index]!;
      const inSig = random() < 0.3;
      const target = Uint8Array.from(inSig ? event.sig : event.signed);
      const at = Math.floor(random() * target.length);
      target[at] = target[at]! ^ (1 + Math.floor(random() * 255));
      const tampered = inSig
        ? { signed: event.signed, sig: target }
        : { signed: target, sig: event.sig };
      const events = w.events.map((e, i) => (i === index ? tampered : e));
      const result = foldLog(events, w.registry);
      expect(result.ok ? 'accepted' : result.error.index).toBe(index);
    }
  });

  it('a tampered byte anywhere in a short log, exhaustively', () => {
    const w = new CollectiveWriter();
    w.genesis('portland', ['alice', 'bob']);
    w.admit('carol', ['alice']);
    w.events.forEach((event, index) => {
      for (const part of ['signed', 'sig'] as const) {
        for (let at = 0; at < event[part].length; at++) {
          const bytes = Uint8Array.from(event[part]);
          bytes[at] = bytes[at]! ^ 0x01;
          const tampered = { ...event, [part]: bytes };
          const result = foldLog(
            w.events.map((e, i) => (i === index ? tampered : e)),
            w.registry,
          );
          expect(result.ok ? 'accepted' : result.error.index).toBe(index);
        }
      }
    });
  });
});
