/**
 * Requests over Tor on a private Tor network booted on loopback: the floor (a bare request to a
 * trivial Operator endpoint through the same onion service), then send, fetch and ack through the
 * onion, then the same on loopback, and the Operator's start-to-reachable time. Latency over a
 * circuit jumps between networks, so only ratios to the floor of the same run mean anything.
 */
import { Agent } from 'undici';
import {
  parseCircuitStatus,
  createTorDispatcher,
  retryWithBackoff,
  type TorControl,
} from '../tor/index.js';
import { startOperatorProcess } from '../test/support/operator-process.js';
import { startPrivateTorNetwork } from '../test/support/tor-network.js';
import { percentile } from './closed-loop.js';
import {
  callOperator,
  getOperator,
  obtainTokens,
  registerKomrade,
  sealedLetter,
  sendAnonymously,
  tokenKeyOf,
  type Komrade,
  type OperatorEndpoint,
  type WireToken,
} from './operator-calls.js';

/** p50 and p99 of one request kind, in ms. */
export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** What {@link benchTor} measured. */
export interface TorBench {
  readonly startToReachableMs: number;
  readonly samples: number;
  readonly overTor: Readonly<Record<'floor' | 'send' | 'fetch' | 'ack', Latency>>;
  readonly loopback: Readonly<Record<'floor' | 'send' | 'fetch' | 'ack', Latency>>;
  /** Per request: p50 over Tor ≤ (floor p50 + loopback p50) × 1.1. */
  readonly withinTarget: Readonly<Record<'send' | 'fetch' | 'ack', boolean>>;
  /** Circuits the client tor built while the measured requests ran (0: every request reused one). */
  readonly circuitsBuiltDuringRequests: number;
}

async function builtCircuits(control: TorControl): Promise<Set<string>> {
  const status = (await control.getInfo('circuit-status')).get('circuit-status') ?? '';
  return new Set(
    parseCircuitStatus(status)
      // Rendezvous circuits carry our requests; tor builds general ones on its own meanwhile.
      .filter((c) => c.status === 'BUILT' && (c.purpose ?? '').startsWith('HS_CLIENT'))
      .map((c) => c.id),
  );
}

const latency = (values: number[]): Latency => ({
  p50Ms: Number(percentile(values, 50).toFixed(2)),
  p99Ms: Number(percentile(values, 99).toFixed(2)),
});

/** One round of floor, send, fetch and ack against `endpoint`; pushes each time in ms. */
async function round(
  endpoint: OperatorEndpoint,
  bob: Komrade,
  sealed: string,
  tokens: WireToken[],
  times: Record<'floor' | 'send' | 'fetch' | 'ack', number[]>,
): Promise<void> {
  const token = tokens.pop();
  if (token === undefined) throw new Error('bench: out of tokens');
  let t = performance.now();
  await getOperator(endpoint, '/v1/health');
  times.floor.push(performance.now() - t);
  t = performance.now();
  // Anonymous: nothing names the sender (her tokens were obtained beforehand).
  await sendAnonymously(endpoint, bob.name, sealed, token);
  times.send.push(performance.now() - t);
  t = performance.now();
  const fetched = (await callOperator(endpoint, '/v1/mail/fetch', { limit: 10 }, bob)) as {
    letters: { id: string }[];
  };
  times.fetch.push(performance.now() - t);
  t = performance.now();
  await callOperator(endpoint, '/v1/mail/ack', { ids: fetched.letters.map((l) => l.id) }, bob);
  times.ack.push(performance.now() - t);
}

/** Boots a private Tor network, an Operator with its onion service, and measures. */
export async function benchTor(samples = 60): Promise<TorBench> {
  const network = await startPrivateTorNetwork();
  try {
    const client = await network.startClientTor();
    if (client.socksPort === undefined) throw new Error('client tor has no SOCKS port');
    const started = performance.now();
    const operator = await startOperatorProcess({
      powBits: 0,
      tor: { extraTorrcLines: network.torrcLinesForClient() },
    });
    const loopAgent = new Agent();
    const torDispatcher = createTorDispatcher({
      socksPort: client.socksPort,
      isolationKey: 'komrade-bench',
      connectionsPerOrigin: 1,
    });
    try {
      if (operator.onion === undefined) throw new Error('the Operator printed no onion address');
      const overTor = { origin: operator.onion, dispatcher: torDispatcher };
      const loopback = { origin: operator.url, dispatcher: loopAgent };
      await retryWithBackoff(() => getOperator(overTor, '/v1/health'), {
        attempts: 40,
        baseMs: 250,
        maxMs: 2_000,
        retryIf: () => true,
      });
      const startToReachableMs = Math.round(performance.now() - started);
      const alice = await registerKomrade(loopback, 'alice', 0);
      const bob = await registerKomrade(loopback, 'bob', 0);
      const sealed = sealedLetter(alice, bob, 600);
      const tokens = await obtainTokens(
        loopback,
        alice,
        await tokenKeyOf(loopback),
        2 * samples + 1,
      );
      const tor = {
        floor: [] as number[],
        send: [] as number[],
        fetch: [] as number[],
        ack: [] as number[],
      };
      const loop = {
        floor: [] as number[],
        send: [] as number[],
        fetch: [] as number[],
        ack: [] as number[],
      };
      await round(overTor, bob, sealed, tokens, tor); // warm the circuit and the connection
      tor.floor.length = tor.send.length = tor.fetch.length = tor.ack.length = 0;
      const before = await builtCircuits(client.control);
      // Interleaved, so drift in the network's latency hits both sides alike.
      for (let i = 0; i < samples; i++) {
        await round(overTor, bob, sealed, tokens, tor);
        await round(loopback, bob, sealed, tokens, loop);
      }
      const after = await builtCircuits(client.control);
      const overTorLatency = {
        floor: latency(tor.floor),
        send: latency(tor.send),
        fetch: latency(tor.fetch),
        ack: latency(tor.ack),
      };
      const loopLatency = {
        floor: latency(loop.floor),
        send: latency(loop.send),
        fetch: latency(loop.fetch),
        ack: latency(loop.ack),
      };
      const within = (kind: 'send' | 'fetch' | 'ack') =>
        overTorLatency[kind].p50Ms <= (overTorLatency.floor.p50Ms + loopLatency[kind].p50Ms) * 1.1;
      return {
        startToReachableMs,
        samples,
        overTor: overTorLatency,
        loopback: loopLatency,
        withinTarget: { send: within('send'), fetch: within('fetch'), ack: within('ack') },
        circuitsBuiltDuringRequests: [...after].filter((id) => !before.has(id)).length,
      };
    } finally {
      await torDispatcher.close();
      await loopAgent.close();
      await operator.cleanup();
    }
  } finally {
    await network.stop();
  }
}
