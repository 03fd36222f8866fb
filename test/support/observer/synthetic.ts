/**
 * Made-up observations with a known answer, to check the linker itself without Tor: komrades make
 * identified requests at random moments and send letters either on their own circuit (a leak the
 * linker must find) or each on a fresh circuit at an unrelated moment (nothing to find).
 */
import { ChaosRandom } from '../chaos-random.js';
import type { TrueLetter } from './ground-truth.js';
import type { Observation, ObservedRequest } from './observation.js';

export interface SyntheticOptions {
  readonly names: readonly string[];
  readonly seed: number;
  readonly letters: number;
  /** `circuit`: letters go on their sender's own circuit; `none`: on a fresh one each. */
  readonly leak: 'circuit' | 'none';
  /** @defaultValue 120000 */
  readonly windowMs?: number;
}

/** An observation and what really happened in it. */
export function syntheticObservation(options: SyntheticOptions): {
  readonly observation: Observation;
  readonly truth: Map<string, TrueLetter>;
} {
  const random = new ChaosRandom(options.seed);
  const window = options.windowMs ?? 120_000;
  const start = 1_800_000_000_000;
  const drafts: Omit<ObservedRequest, 'seq' | 'connection'>[] = [];
  const truth = new Map<string, TrueLetter>();
  const circuitOf = new Map(options.names.map((name, i) => [name, 1_000 + i]));
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const request = (
    at: number,
    circuit: number,
    path: string,
    headers: Record<string, string>,
    body: Buffer,
    answer: Buffer,
  ) =>
    drafts.push({
      circuit,
      at,
      bodyAt: at + 5,
      answeredAt: at + 40,
      method: 'POST',
      path,
      headers,
      body,
      status: 200,
      answer,
    });
  for (const name of options.names) {
    for (let i = 0; i < 12; i++) {
      request(
        start + random.int(0, window),
        circuitOf.get(name) ?? 0,
        '/v1/mail/fetch',
        { authorization: `Komrade name=${name},at=1,nonce=x,sig=y` },
        json({}),
        json({ letters: [], more: false }),
      );
    }
  }
  let fresh = 50_000;
  for (let i = 0; i < options.letters; i++) {
    const from = random.pick(options.names);
    const to = random.pick(options.names.filter((n) => n !== from));
    const id = Buffer.from(`letter-${String(i).padStart(9, '0')}`).toString('base64url');
    const sealed = Buffer.alloc(1_024, i % 251);
    const circuit = options.leak === 'circuit' ? (circuitOf.get(from) ?? 0) : fresh++;
    request(
      start + random.int(0, window),
      circuit,
      '/v2/mail/send',
      {},
      json({ to, sealed: sealed.toString('base64url'), token: {} }),
      json({ id, receivedAt: start }),
    );
    truth.set(id, { key: id, from, to, kind: 'text', sentAt: start, sealedLength: sealed.length });
  }
  drafts.sort((a, b) => a.at - b.at);
  const requests = drafts.map((draft, seq) => ({ ...draft, seq, connection: seq }));
  return { observation: { requests, snapshots: [], logLines: [], files: {} }, truth };
}
