/**
 * Letters through a real Operator process, against a bare node:http baseline measured in the same
 * run: throughput and latency unbatched and in batches, and memory with a full mailbox table.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { randomBytes } from '../common/crypto/index.js';
import { ROUTES, toBase64url } from '../common/wire/index.js';
import { startOperatorProcess } from '../test/support/operator-process.js';
import { percentile, runClosedLoop, type LoopResult } from './closed-loop.js';
import { PROFILING, profilerArgs, topFunctions, type ProfileEntry } from './cpu-profile.js';
import {
  callOperator,
  obtainTokens,
  openSession,
  registerKomrade,
  sealedLetter,
  sendAnonymously,
  tokenKeyOf,
  type BenchSession,
  type Komrade,
  type OperatorEndpoint,
  type WireToken,
} from './operator-calls.js';
import { cpuSeconds, startBareServer } from './processes.js';

export const CONCURRENCY = [1, 8, 64] as const;
export const BATCH = 32;
/** Text bytes of each letter: sealed and padded, it fills the 1 KiB size class. */
const LETTER_BYTES = 600;
/** Tokens a sender obtains per issue request when it runs out (a client's refill). */
const REFILL = 100;

/** Throughput and latency of one measurement. */
export interface Rate {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function summarize(result: LoopResult): Rate {
  return {
    perSecond: Math.round(result.units / result.seconds),
    p50Ms: Number(percentile(result.latenciesMs, 50).toFixed(2)),
    p99Ms: Number(percentile(result.latenciesMs, 99).toFixed(2)),
  };
}

/** `items[index]`, or a clear failure: the benchmark's arrays are built to be full. */
function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`benchmark bug: no item at ${index}`);
  return item;
}

/** Resident and peak memory of a process, in MB, from /proc. */
function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

/** The bare server's throughput and latency, and its CPU time per request. */
export interface BaselineRate extends Rate {
  readonly serverUsPerRequest: number;
}

/** Requests per second of the bare server, with a body the size of an anonymous send. */
export async function benchBaseline(seconds: number): Promise<Record<number, BaselineRate>> {
  const server = await startBareServer();
  const results: Record<number, BaselineRate> = {};
  const body = Buffer.from(
    JSON.stringify({
      to: 'recipient_0',
      sealed: toBase64url(randomBytes(1_024)),
      token: {
        epoch: 1,
        input: toBase64url(randomBytes(32)),
        output: toBase64url(randomBytes(64)),
      },
    }),
  );
  try {
    for (const c of CONCURRENCY) {
      const pool = new Pool(server.url, { connections: c, pipelining: 1 });
      const cpuBefore = cpuSeconds(server.pid);
      const result = await runClosedLoop(c, seconds * 1000, async () => {
        const res = await pool.request({
          path: '/v2/mail/send',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.body.text();
        return 1;
      });
      const cpuUs = (cpuSeconds(server.pid) - cpuBefore) * 1e6;
      results[c] = {
        ...summarize(result),
        serverUsPerRequest: Number((cpuUs / Math.max(result.units, 1)).toFixed(1)),
      };
      await pool.close();
    }
  } finally {
    server.stop();
  }
  return results;
}

/** A sender's session and tokens, refilled {@link REFILL} at a time when empty (refills are measured). */
interface Sender extends Komrade {
  readonly session: BenchSession;
  readonly tokens: WireToken[];
}

/** A recipient's session, and the ids it fetched and has yet to acknowledge. */
interface Recipient extends Komrade {
  readonly session: BenchSession;
  readonly unacked: string[];
}

async function tokenOf(endpoint: OperatorEndpoint, sender: Sender, key: Uint8Array) {
  if (sender.tokens.length === 0) {
    sender.tokens.push(...(await obtainTokens(endpoint, sender.session, key, REFILL)));
  }
  const token = sender.tokens.pop();
  if (token === undefined) throw new Error('no token after a refill');
  return token;
}

/**
 * How the recipient acknowledges: `rides` sends the ids it fetched with its next fetch (a letter
 * costs a send and a fetch), `apart` sends them in an ack request right after the fetch.
 */
type AckMode = 'rides' | 'apart';

/**
 * One task: a sender writes `letters` to its own recipient, each as one anonymous send (a batch
 * goes as that many sends at once), and the recipient fetches what arrived in its session.
 */
async function deliver(
  endpoint: OperatorEndpoint,
  sender: Sender,
  tokenKey: Uint8Array,
  recipient: Recipient,
  letters: readonly string[],
  ackMode: AckMode,
): Promise<number> {
  const tokens: WireToken[] = [];
  for (let i = 0; i < letters.length; i++) tokens.push(await tokenOf(endpoint, sender, tokenKey));
  await Promise.all(
    letters.map((sealed, i) => sendAnonymously(endpoint, recipient.name, sealed, at(tokens, i))),
  );
  let delivered = 0;
  while (delivered < letters.length) {
    const ack = recipient.unacked.splice(0);
    const fetched = (await callOperator(
      endpoint,
      ROUTES.fetch,
      { limit: 200, ...(ack.length === 0 ? {} : { ack }) },
      recipient.session,
    )) as { letters: { id: string }[] };
    if (fetched.letters.length === 0) throw new Error('sent letters were not there to fetch');
    const ids = fetched.letters.map((l) => l.id);
    if (ackMode === 'rides') recipient.unacked.push(...ids);
    else await callOperator(endpoint, ROUTES.ack, { ids }, recipient.session);
    delivered += fetched.letters.length;
  }
  return delivered;
}

/** Throughput, latency and the Operator's CPU time per letter of one measurement. */
export interface LetterRate extends Rate {
  readonly operatorUsPerLetter: number;
}

/** Every letter measurement, and with `BENCH_PROFILE=1` where the Operator's time went. */
export interface LetterFigures {
  readonly rates: Record<string, LetterRate>;
  readonly profile: readonly ProfileEntry[];
}

/** The measurements: key, letters per task, concurrencies, acknowledgement. */
const MEASUREMENTS: readonly {
  key: string;
  batch: number;
  concurrency: readonly number[];
  ackMode: AckMode;
}[] = [
  { key: 'unbatched', batch: 1, concurrency: CONCURRENCY, ackMode: 'rides' },
  { key: `batch${BATCH}`, batch: BATCH, concurrency: CONCURRENCY, ackMode: 'rides' },
  // The lever's effect: the same letters with an ack request of their own.
  { key: 'unbatched-ack-apart', batch: 1, concurrency: [64], ackMode: 'apart' },
];

/**
 * Letters per second end to end (token, anonymous send, fetch with the previous ids to delete),
 * one letter per task and {@link BATCH} sent at once per task, with the Operator's CPU per letter.
 */
export async function benchLetters(seconds: number): Promise<LetterFigures> {
  const profiler = PROFILING ? await profilerArgs() : undefined;
  const operator = await startOperatorProcess({
    powBits: 0,
    config: { mail: { mailboxQuotaLetters: 5_000 }, tokens: { perDay: 1_000_000 } },
    ...(profiler === undefined ? {} : { nodeArgs: profiler.nodeArgs }),
  });
  const rates: Record<string, LetterRate> = {};
  try {
    const setup = { origin: operator.url, dispatcher: new Pool(operator.url, { connections: 8 }) };
    const tokenKey = await tokenKeyOf(setup);
    const pairs: { sender: Sender; recipient: Recipient; sealed: string[] }[] = [];
    for (let i = 0; i < Math.max(...CONCURRENCY); i++) {
      const from = await registerKomrade(setup, `sender_${i}`, 0);
      const session = await openSession(setup, from);
      // A first batch of tokens before the clock starts, as a client refills ahead of time;
      // later refills (every 100 letters) are measured.
      const sender = {
        ...from,
        session,
        tokens: await obtainTokens(setup, session, tokenKey, REFILL),
      };
      const to = await registerKomrade(setup, `recipient_${i}`, 0);
      const recipient = { ...to, session: await openSession(setup, to), unacked: [] };
      // Real sealed letters, made before the clock starts: this measures the Operator.
      const sealed = Array.from({ length: BATCH }, () =>
        sealedLetter(sender, recipient, LETTER_BYTES),
      );
      pairs.push({ sender, recipient, sealed });
    }
    await setup.dispatcher.close();
    for (const { key, batch, concurrency, ackMode } of MEASUREMENTS) {
      for (const c of concurrency) {
        const pool = new Pool(operator.url, { connections: c, pipelining: 1 });
        const endpoint = { origin: operator.url, dispatcher: pool };
        const cpuBefore = cpuSeconds(operator.pid);
        const result = await runClosedLoop(c, seconds * 1000, (worker) => {
          const pair = at(pairs, worker);
          return deliver(
            endpoint,
            pair.sender,
            tokenKey,
            pair.recipient,
            pair.sealed.slice(0, batch),
            ackMode,
          );
        });
        const cpuUs = (cpuSeconds(operator.pid) - cpuBefore) * 1e6;
        // The ids still owed: acked outside the clock so the next measurement starts clean.
        for (const { recipient } of pairs) {
          const ids = recipient.unacked.splice(0);
          if (ids.length > 0) await callOperator(endpoint, ROUTES.ack, { ids }, recipient.session);
        }
        rates[`${key}_c${c}`] = {
          ...summarize(result),
          operatorUsPerLetter: Math.round(cpuUs / Math.max(result.units, 1)),
        };
        await pool.close();
      }
    }
  } finally {
    await operator.cleanup();
  }
  return { rates, profile: profiler === undefined ? [] : await topFunctions(profiler.dir) };
}

/** Operator memory idle and with `letters` queued for `names` komrades. */
export async function benchMemory(names = 10_000, letters = 100_000) {
  const operator = await startOperatorProcess({
    powBits: 0,
    config: { mail: { mailboxQuotaLetters: 1_000 }, tokens: { perDay: 1_000_000 } },
  });
  try {
    const pool = new Pool(operator.url, { connections: 16 });
    const endpoint = { origin: operator.url, dispatcher: pool };
    const idle = memoryOf(operator.pid);
    const komrades: Komrade[] = [];
    for (let i = 0; i < names; i += 16) {
      komrades.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(16, names - i) }, (_, j) =>
            registerKomrade(endpoint, `k_${i + j}`, 0),
          ),
        )),
      );
    }
    const first = at(komrades, 0);
    const sender: Sender = { ...first, session: await openSession(endpoint, first), tokens: [] };
    const tokenKey = await tokenKeyOf(endpoint);
    const parallel = 16;
    for (let sent = 0; sent < letters; sent += parallel) {
      const tokens: WireToken[] = [];
      for (let k = 0; k < parallel; k++) tokens.push(await tokenOf(endpoint, sender, tokenKey));
      await Promise.all(
        tokens.map((token, k) =>
          // Opaque bytes of a sealed letter's size class: the Operator never opens letters.
          sendAnonymously(
            endpoint,
            at(komrades, (sent + k) % names).name,
            toBase64url(randomBytes(1_024)),
            token,
          ),
        ),
      );
    }
    await pool.close();
    return { names, letters, idle, loaded: memoryOf(operator.pid) };
  } finally {
    await operator.cleanup();
  }
}
