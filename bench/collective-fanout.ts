/**
 * One collective message fanned out to collectives of 10, 100 and 1,000 members through a real
 * Operator process, the way the client sends it: a `KomradeClient` with its SQLite store signs
 * the message, seals the body once and sends the content key to each member through its ratchet
 * session with them (one store commit for all), then hands it to the Operator. Sessions are
 * established before the clock starts (each member opened a first message and wrote back); the
 * first contact (bundle fetched and PQXDH per member) is timed apart. Baseline in the same run:
 * the same text sent the way a letter goes, sealed to each member separately, each copy one
 * anonymous send (16 at a time; the tokens are obtained before the clock starts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import {
  HttpOperatorClient,
  KomradeClient,
  RetryingOperatorClient,
  SqliteLocalStore,
  type OperatorClient,
} from '../client/index.js';
import { generateIdentityKeys, randomBytes } from '../common/crypto/index.js';
import {
  CollectiveLog,
  collectivePowBytes,
  genesisDraft,
  signCollectiveEvent,
  type Constitution,
  type SignedCollectiveEvent,
} from '../common/collectives/index.js';
import {
  COLLECTIVE_ROUTES,
  solveProofOfWork,
  toBase64url,
  type KeyHolder,
} from '../common/wire/index.js';
import { framedLetter } from '../test/support/framed-letter.js';
import { startOperatorProcess } from '../test/support/operator-process.js';
import {
  callOperator,
  obtainTokens,
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

/** One size's figures: the fan-out, the first contact, and the per-member-letters baseline. */
export interface FanoutResult {
  readonly members: number;
  /** Sender's time to sign, seal and ratchet-encrypt each member's key, ms. */
  readonly sealMs: number;
  /** Request until the Operator answered (stored and durable), ms. */
  readonly operatorMs: number;
  readonly totalMs: number;
  /** Bytes of the sealed body (stored once) and of all key envelopes. */
  readonly bodyBytes: number;
  readonly envelopeBytes: number;
  /**
   * The first message to the members new at this size (each one's bundle fetched for a token,
   * PQXDH, a first-message envelope), end to end, ms; and how many members were new.
   */
  readonly firstContact: { readonly newMembers: number; readonly totalMs: number };
  /** The same text as one sealed letter per member. */
  readonly baseline: {
    readonly sealMs: number;
    readonly operatorMs: number;
    readonly totalMs: number;
    readonly storedBytes: number;
  };
}

/** A komrade with a real client: its store is opened when needed and closed after. */
interface ClientKomrade extends Komrade {
  readonly path: string;
  readonly storageKey: Uint8Array;
}

/** Opens `k`'s client, runs `use`, and closes its store (1,000 stores stay under the fd limit). */
async function withClient<T>(
  endpoint: OperatorEndpoint,
  k: ClientKomrade,
  use: (client: KomradeClient, operator: OperatorClient) => Promise<T>,
): Promise<T> {
  const store = new SqliteLocalStore(k.path, { storageKey: k.storageKey });
  try {
    // As the CLI builds it: a connection the Operator closed while idle is retried.
    const operator = new RetryingOperatorClient(
      new HttpOperatorClient({
        baseUrl: endpoint.origin,
        dispatcher: endpoint.dispatcher,
        now: Date.now,
      }),
    );
    const client = new KomradeClient({
      operator,
      store,
      keys: k.keys,
      now: Date.now,
      keyHolder: 'self',
    });
    return await use(client, operator);
  } finally {
    store.close();
  }
}

/** Registers a komrade through its client (ratchet key and prekeys published, as in real use). */
async function registerClient(
  endpoint: OperatorEndpoint,
  dir: string,
  name: string,
): Promise<ClientKomrade> {
  const k = {
    name,
    keys: generateIdentityKeys(),
    path: join(dir, `${name}.db`),
    storageKey: randomBytes(32),
  };
  await withClient(endpoint, k, async (client) => {
    await client.register(name);
  });
  return k;
}

/** Runs `work` over `items`, `parallel` at a time. */
async function inParallel<T>(
  items: readonly T[],
  parallel: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let item = items[next++]; item !== undefined; item = items[next++]) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
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
  sender: KomradeClient,
  operator: OperatorClient,
  signer: { readonly name: string; readonly signSecret: Uint8Array },
  collective: string,
): Promise<Omit<FanoutResult, 'baseline' | 'members' | 'firstContact'>> {
  const started = performance.now();
  const prepared = await sender.prepareCollectiveMessage(collective, TEXT);
  const sealed = prepared.sealed;
  if (sealed === undefined || prepared.failed.length > 0) {
    throw new Error('benchmark bug: a member could not be sealed to');
  }
  const sealedAt = performance.now();
  // What `sendToCollective` sends, split to time the sealing and the Operator apart.
  await operator.sendToCollective(signer, collective, sealed);
  const done = performance.now();
  return {
    sealMs: round(sealedAt - started),
    operatorMs: round(done - sealedAt),
    totalMs: round(done - started),
    bodyBytes: sealed.body.length,
    envelopeBytes: sealed.keys.reduce((sum, k) => sum + k.sealed.length, 0),
  };
}

/**
 * The first message to members the sender has no session with (timed, the sender's side only),
 * then each of them writes the sender a letter and the sender reads them: from then on the
 * sessions continue (a member answering in a session of their own is as good as opening the
 * first message, and spares 1,000 members verifying the collective's log).
 */
async function establish(
  endpoint: OperatorEndpoint,
  sender: KomradeClient,
  senderName: string,
  collective: string,
  newcomers: readonly ClientKomrade[],
): Promise<number> {
  const started = performance.now();
  const sent = await sender.sendToCollective(collective, 'welcome');
  const firstMs = round(performance.now() - started);
  if (sent.failed.length > 0) throw new Error('benchmark bug: a first contact failed');
  await inParallel(newcomers, 8, (k) =>
    withClient(endpoint, k, async (client) => {
      await client.send(senderName, 'ack');
    }),
  );
  const inbox = await sender.checkInbox();
  if (inbox.requested + inbox.received < newcomers.length) {
    throw new Error('benchmark bug: the sender did not read every answer');
  }
  return firstMs;
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
    sealed: framedLetter(sender, { name: m.name, boxPublic: m.keys.boxPublic }, TEXT),
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
  const dir = mkdtempSync(join(tmpdir(), 'komrade-bench-fanout-'));
  try {
    const max = FANOUT_SIZES[FANOUT_SIZES.length - 1] ?? 0;
    const people: ClientKomrade[] = [];
    for (let i = 0; i < max; i += 50) {
      const chunk = await Promise.all(
        Array.from({ length: Math.min(50, max - i) }, (_, j) =>
          registerClient(endpoint, dir, `fan_${i + j}`),
        ),
      );
      people.push(...chunk);
    }
    const [founder] = people;
    if (founder === undefined) throw new Error('benchmark bug: nobody registered');
    const grower = new Grower(endpoint, founder);
    await grower.create('fanout', founder, powBits);
    const results: FanoutResult[] = [];
    // The sender's client stays open: its sessions and verified log are what is measured.
    const signer = { name: founder.name, signSecret: founder.keys.signSecret };
    await withClient(endpoint, founder, async (sender, http) => {
      for (const size of FANOUT_SIZES) {
        const newcomers: ClientKomrade[] = [];
        for (let n = grower.members.length; n < size; n++) {
          const newcomer = people[n];
          if (newcomer === undefined) throw new Error('benchmark bug: too few people');
          await grower.admit(newcomer, founder);
          newcomers.push(newcomer);
        }
        const firstMs = await establish(endpoint, sender, founder.name, 'fanout', newcomers);
        console.error(`  ${size} members: sessions established; timing …`);
        const others = grower.members.filter((m) => m.name !== founder.name);
        const fan = median3(await repeat3(() => timeFanout(sender, http, signer, 'fanout')));
        const base = median3(await repeat3(() => timeLetters(endpoint, founder, others)));
        results.push({
          members: size,
          ...fan,
          firstContact: { newMembers: newcomers.length, totalMs: firstMs },
          baseline: base,
        });
      }
    });
    return results;
  } finally {
    await pool.close();
    await operator.cleanup();
    rmSync(dir, { recursive: true, force: true });
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
