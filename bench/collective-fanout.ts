/**
 * One collective message fanned out to collectives of 10, 100 and 1,000 members through a real
 * Operator process, against a baseline measured in the same run: the same text sent the way a
 * letter goes, sealed to each member separately, each copy one anonymous send (16 at a time; the
 * tokens are obtained before the clock starts).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { randomBytes } from '../common/crypto/index.js';
import {
  CollectiveLog,
  collectivePowBytes,
  genesisDraft,
  sealCollectiveMessage,
  signCollectiveEvent,
  type Constitution,
  type SignedCollectiveEvent,
} from '../common/collectives/index.js';
import {
  COLLECTIVE_ROUTES,
  sealLetter,
  solveProofOfWork,
  toBase64url,
  type KeyHolder,
} from '../common/wire/index.js';
import { startOperatorProcess } from '../test/support/operator-process.js';
import {
  callOperator,
  obtainTokens,
  registerKomrade,
  sendAnonymously,
  tokenKeyOf,
  type Komrade,
  type OperatorEndpoint,
  type WireToken,
} from './operator-calls.js';

/** Collective sizes measured. */
export const FANOUT_SIZES = [10, 100, 1_000] as const;
const TEXT = 'x'.repeat(1_000);
// One vouch admits anyone: growing to 1,000 members stays 3 appends per newcomer.
const CONSTITUTION: Constitution = {
  quorum: { fixed: 1 },
  amendment: { moreThan: { num: 1, den: 2 } },
  removal: { atLeast: { num: 2, den: 3 } },
  votingWindowMs: 86_400_000,
  allowedKeyHolders: ['self', 'telegram', 'discord'],
};

/** One size's figures: the fan-out and the per-member-letters baseline. */
export interface FanoutResult {
  readonly members: number;
  /** Sender's time to sign and seal, ms. */
  readonly sealMs: number;
  /** Request until the Operator answered (stored and durable), ms. */
  readonly operatorMs: number;
  readonly totalMs: number;
  /** Bytes of the sealed body (stored once) and of all key envelopes. */
  readonly bodyBytes: number;
  readonly envelopeBytes: number;
  /** The same text as one sealed letter per member. */
  readonly baseline: {
    readonly sealMs: number;
    readonly operatorMs: number;
    readonly totalMs: number;
    readonly storedBytes: number;
  };
}

class Grower {
  readonly #log: CollectiveLog;
  readonly #members = new Map<string, Komrade>();
  readonly #endpoint: OperatorEndpoint;

  constructor(endpoint: OperatorEndpoint, founder: Komrade) {
    this.#endpoint = endpoint;
    this.#members.set(founder.name, founder);
    this.#log = new CollectiveLog({
      keyOf: (name) => this.#members.get(name)?.keys.signPublic,
      keyHolderOf: (name): KeyHolder | undefined => (this.#members.has(name) ? 'self' : undefined),
    });
  }

  get members(): Komrade[] {
    return [...this.#members.values()];
  }

  async create(name: string, founder: Komrade, powBits: number): Promise<void> {
    const genesis = signCollectiveEvent(
      genesisDraft(name, founder.name, Date.now(), {
        founders: [founder.name],
        constitution: CONSTITUTION,
      }),
      founder.keys.signSecret,
    );
    const pow = await solveProofOfWork(collectivePowBytes(genesis.signed), powBits);
    await callOperator(
      this.#endpoint,
      COLLECTIVE_ROUTES.create,
      { genesis: json(genesis), pow: toBase64url(pow) },
      founder,
    );
    this.#append(genesis);
  }

  async admit(newcomer: Komrade, voucher: Komrade): Promise<void> {
    this.#members.set(newcomer.name, newcomer);
    await this.#act(newcomer, 'join-request', { note: '' });
    await this.#act(voucher, 'vouch', { candidate: newcomer.name });
    await this.#act(newcomer, 'admit', { candidate: newcomer.name });
  }

  async #act(
    actor: Komrade,
    kind: 'join-request' | 'vouch' | 'admit',
    body: { note: string } | { candidate: string },
  ): Promise<void> {
    const draft = this.#log.draft(kind as 'vouch', actor.name, Date.now(), body as never);
    const signed = signCollectiveEvent(draft, actor.keys.signSecret);
    await callOperator(this.#endpoint, COLLECTIVE_ROUTES.append, { event: json(signed) }, actor);
    this.#append(signed);
  }

  #append(signed: SignedCollectiveEvent): void {
    const appended = this.#log.append(signed);
    if (!appended.ok) throw appended.error;
  }
}

const json = (e: SignedCollectiveEvent) => ({
  signed: toBase64url(e.signed),
  sig: toBase64url(e.sig),
});

async function timeFanout(
  endpoint: OperatorEndpoint,
  collective: string,
  sender: Komrade,
  others: readonly Komrade[],
): Promise<Omit<FanoutResult, 'baseline' | 'members'>> {
  const started = performance.now();
  const sealed = sealCollectiveMessage(
    { v: 1, collective, from: sender.name, sentAt: Date.now(), id: randomBytes(16), text: TEXT },
    sender.keys.signSecret,
    others.map((m) => ({ name: m.name, boxKey: m.keys.boxPublic })),
  );
  const payload = {
    collective,
    body: toBase64url(sealed.body),
    keys: sealed.keys.map((k) => ({ to: k.to, sealed: toBase64url(k.sealed) })),
  };
  const sealedAt = performance.now();
  await callOperator(endpoint, COLLECTIVE_ROUTES.send, payload, sender);
  const done = performance.now();
  return {
    sealMs: round(sealedAt - started),
    operatorMs: round(done - sealedAt),
    totalMs: round(done - started),
    bodyBytes: sealed.body.length,
    envelopeBytes: sealed.keys.reduce((sum, k) => sum + k.sealed.length, 0),
  };
}

/** Anonymous sends in flight at once in the letters baseline. */
const PARALLEL_SENDS = 16;

function tokenAt(tokens: readonly WireToken[], index: number): WireToken {
  const token = tokens[index];
  if (token === undefined) throw new Error('benchmark bug: too few tokens');
  return token;
}

async function timeLetters(
  endpoint: OperatorEndpoint,
  sender: Komrade,
  others: readonly Komrade[],
): Promise<FanoutResult['baseline']> {
  const tokens = await obtainTokens(endpoint, sender, await tokenKeyOf(endpoint), others.length);
  const started = performance.now();
  const letters = others.map((m) => ({
    to: m.name,
    sealed: sealLetter(
      {
        v: 1,
        kind: 'text',
        from: sender.name,
        to: m.name,
        sentAt: Date.now(),
        id: randomBytes(16),
        body: TEXT,
      },
      sender.keys.signSecret,
      m.keys.boxPublic,
    ),
  }));
  const sealedAt = performance.now();
  for (let i = 0; i < letters.length; i += PARALLEL_SENDS) {
    await Promise.all(
      letters
        .slice(i, i + PARALLEL_SENDS)
        .map((l, j) =>
          sendAnonymously(endpoint, l.to, toBase64url(l.sealed), tokenAt(tokens, i + j)),
        ),
    );
  }
  const done = performance.now();
  return {
    sealMs: round(sealedAt - started),
    operatorMs: round(done - sealedAt),
    totalMs: round(done - started),
    storedBytes: letters.reduce((sum, l) => sum + l.sealed.length, 0),
  };
}

const round = (ms: number) => Number(ms.toFixed(1));

/**
 * Grows one collective to 10, 100 and 1,000 members on a fresh Operator and, at each size, times
 * one message fanned out to every member but the sender, then the same text as separate letters.
 * Each figure is the median of three sends.
 */
export async function benchCollectiveFanout(): Promise<FanoutResult[]> {
  const powBits = 0;
  const operator = await startOperatorProcess({
    powBits,
    config: { mail: { mailboxQuotaLetters: 100_000 }, tokens: { perDay: 1_000_000 } },
  });
  const pool = new Pool(operator.url, { connections: 8 });
  const endpoint = { origin: operator.url, dispatcher: pool };
  try {
    const max = FANOUT_SIZES[FANOUT_SIZES.length - 1] ?? 0;
    const people: Komrade[] = [];
    for (let i = 0; i < max; i += 50) {
      const chunk = await Promise.all(
        Array.from({ length: Math.min(50, max - i) }, (_, j) =>
          registerKomrade(endpoint, `fan_${i + j}`, powBits),
        ),
      );
      people.push(...chunk);
    }
    const [founder] = people;
    if (founder === undefined) throw new Error('benchmark bug: nobody registered');
    const grower = new Grower(endpoint, founder);
    await grower.create('fanout', founder, powBits);
    const results: FanoutResult[] = [];
    for (const size of FANOUT_SIZES) {
      for (let n = grower.members.length; n < size; n++) {
        const newcomer = people[n];
        if (newcomer === undefined) throw new Error('benchmark bug: too few people');
        await grower.admit(newcomer, founder);
      }
      const others = grower.members.filter((m) => m.name !== founder.name);
      const fan = median3(await repeat3(() => timeFanout(endpoint, 'fanout', founder, others)));
      const base = median3(await repeat3(() => timeLetters(endpoint, founder, others)));
      results.push({ members: size, ...fan, baseline: base });
    }
    return results;
  } finally {
    await pool.close();
    await operator.cleanup();
  }
}

async function repeat3<T>(run: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < 3; i++) out.push(await run());
  return out;
}

function median3<T extends { readonly totalMs: number }>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => a.totalMs - b.totalMs);
  const mid = sorted[1] ?? sorted[0];
  if (mid === undefined) throw new Error('benchmark bug: no runs');
  return mid;
}
