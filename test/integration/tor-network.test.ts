/** The Tor layer against a real private Tor network: onion publishing, SOCKS transport, isolation. */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKomradeError } from '../../common/errors/index.js';
import {
  assertOnionOrLoopback,
  attachTor,
  createTorDispatcher,
  launchTor,
  parseCircuitStatus,
  parseStreamLine,
  retryWithBackoff,
  type AddOnionResult,
  type BootstrapProgress,
  type StreamStatus,
  type TorProcess,
} from '../../tor/index.js';
import {
  reportTimings,
  startPrivateTorNetwork,
  type PrivateTorNetwork,
} from '../support/tor-network.js';

let network: PrivateTorNetwork | undefined;
let client: TorProcess;
let service: TorProcess;
let server: Server;
let serverPort: number;
const progress: BootstrapProgress[] = [];
const dispatchers: Dispatcher[] = [];
const timings: Record<string, number> = {};

/** GETs `/hello` on the onion through the client tor, retrying until the descriptor is published. */
async function getThroughTor(hostname: string, dispatcher: Dispatcher): Promise<unknown> {
  return retryWithBackoff(
    async () => {
      const res = await request(`http://${hostname}/hello`, { dispatcher });
      expect(res.statusCode).toBe(200);
      return res.body.json();
    },
    { attempts: 30, baseMs: 200, maxMs: 1_000 },
  );
}

function torDispatcher(isolationKey: string, connectionsPerOrigin?: number): Dispatcher {
  const dispatcher = createTorDispatcher({
    socksPort: client.socksPort!,
    isolationKey,
    connectTimeoutMs: 20_000,
    ...(connectionsPerOrigin === undefined ? {} : { connectionsPerOrigin }),
  });
  dispatchers.push(dispatcher);
  return dispatcher;
}

beforeAll(async () => {
  const started = await startPrivateTorNetwork();
  network = started;
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverPort = (server.address() as AddressInfo).port;
  [client, service] = await Promise.all([
    started.startClientTor({ onProgress: (p) => progress.push(p) }),
    started.startServiceTor(),
  ]);
  timings.networkToClientsReady = Date.now() - started.startedAt;
}, 120_000);

afterAll(async () => {
  await Promise.all(dispatchers.map((d) => d.close()));
  // beforeAll failed before the network was up: startPrivateTorNetwork cleaned up after itself.
  if (network === undefined) return;
  const memory = await network.memoryUsage();
  const stopping = Date.now();
  await network.stop();
  timings.stopMs = Date.now() - stopping;
  await new Promise((resolve) => server.close(resolve));
  const rssMb = memory.map((m) => Math.round(m.rssKb / 1024));
  reportTimings('tor-network', {
    ...network.bootTimings,
    ...timings,
    minRssMb: Math.min(...rssMb),
    maxRssMb: Math.max(...rssMb),
  });
}, 30_000);

describe('private Tor network', () => {
  let onion: AddOnionResult;

  it('reports bootstrap progress rising to 100%', () => {
    expect(progress.length).toBeGreaterThan(2);
    const percents = progress.map((p) => p.percent);
    for (let i = 1; i < percents.length; i++) {
      expect(percents[i]).toBeGreaterThan(percents[i - 1]!);
    }
    expect(progress.at(-1)).toMatchObject({ percent: 100, tag: 'done' });
  });

  it('publishes a local server as an onion and reaches it through SOCKS', async () => {
    const added = Date.now();
    onion = await service.control.addOnion({
      ports: [{ targetPort: serverPort }],
      waitForPublication: { timeoutMs: 30_000 },
    });
    timings.addOnionToPublished = Date.now() - added;
    expect(onion.hostname).toMatch(/^[a-z2-7]{56}\.onion$/);
    expect(onion.privateKey).toMatch(/^ED25519-V3:/);
    expect(onion.powDefenses).toBe(true);
    await expect(getThroughTor(onion.hostname, torDispatcher('alice'))).resolves.toEqual({
      ok: true,
      path: '/hello',
    });
    timings.addOnionToReachable = Date.now() - added;
    timings.networkToOnionReachable = Date.now() - network!.startedAt;
  });

  it('republishes the same address from the persisted key', async () => {
    await service.control.delOnion(onion.serviceId);
    const again = await service.control.addOnion({
      privateKey: onion.privateKey!,
      ports: [{ targetPort: serverPort }],
      detach: true,
      waitForPublication: { timeoutMs: 30_000 },
    });
    expect(again.serviceId).toBe(onion.serviceId);
    expect(again.privateKey).toBeUndefined();
    // The client still caches the old descriptor (dead intro points): have it fetch the new one
    // now rather than after its failed attempts, which on a loaded machine can take a minute. A
    // fetch can race the new descriptor's upload, so each round fetches again, on new circuits.
    const added = Date.now();
    let answer: unknown;
    for (let round = 1; answer === undefined; round++) {
      await client.control.command(`HSFETCH ${again.serviceId}`);
      try {
        const res = await request(`http://${again.hostname}/hello`, {
          dispatcher: torDispatcher(`alice-2-${round}`),
          signal: AbortSignal.timeout(15_000),
        });
        answer = await res.body.json();
      } catch (error) {
        if (round >= 6) throw error;
      }
    }
    expect(answer).toMatchObject({ ok: true });
    timings.readdToReachable = Date.now() - added;
  }, 120_000);

  it('puts different isolation keys on different circuits and reuses one circuit per key', async () => {
    const streams: StreamStatus[] = [];
    const unsubscribe = await client.control.subscribe(['STREAM'], (event) => {
      const stream = parseStreamLine(event.body);
      if (stream?.status === 'SUCCEEDED') streams.push(stream);
    });
    try {
      const carol = torDispatcher('carol');
      const dave = torDispatcher('dave');
      // One connection per origin: keep-alive must carry every request on one SOCKS stream.
      const frank = torDispatcher('frank', 1);
      for (let i = 0; i < 4; i++) await getThroughTor(onion.hostname, carol);
      await Promise.all([0, 1, 2].map(() => getThroughTor(onion.hostname, dave)));
      for (let i = 0; i < 3; i++) await getThroughTor(onion.hostname, frank);

      const streamsOf = (key: string): StreamStatus[] =>
        streams.filter((s) => s.socksUsername === key);
      const circuitOf = (key: string): string => {
        const circuits = new Set(streamsOf(key).map((s) => s.circuitId));
        expect(circuits.size).toBe(1);
        return [...circuits][0]!;
      };
      const circuits = ['carol', 'dave', 'frank'].map(circuitOf);
      expect(new Set(circuits).size).toBe(3);
      // undici may open a second connection while the first is being returned to its pool, so
      // allow one; four requests on four streams would mean no keep-alive at all.
      expect(streamsOf('carol').length).toBeLessThanOrEqual(2);
      expect(streamsOf('frank')).toHaveLength(1);

      const listed = parseCircuitStatus(
        (await client.control.getInfo('circuit-status')).get('circuit-status') ?? '',
      );
      const userOf = new Map(listed.map((c) => [c.id, c.socksUsername]));
      expect(circuits.map((id) => userOf.get(id))).toEqual(['carol', 'dave', 'frank']);
    } finally {
      await unsubscribe();
    }
  }, 90_000);

  it('attaches to a running tor without taking ownership of it', async () => {
    const portFile = await readFile(join(client.dataDir, 'control-port'), 'utf8');
    const port = Number(/:(\d+)/.exec(portFile)?.[1]);
    const attached = await attachTor({
      control: { port },
      cookiePath: join(client.dataDir, 'control_auth_cookie'),
    });
    expect(attached.socksPort).toBe(client.socksPort);
    expect((await attached.control.bootstrapPhase()).percent).toBe(100);
    await attached.close();
    // Closing a non-owning controller leaves tor running.
    expect((await client.control.bootstrapPhase()).percent).toBe(100);
  });

  it('refuses an .onion URL when no SOCKS proxy is configured, and clearnet always', () => {
    const url = `http://${onion.hostname}/hello`;
    expect(() => assertOnionOrLoopback(url, { socksConfigured: false })).toThrow(
      /needs a Tor SOCKS proxy/,
    );
    expect(assertOnionOrLoopback(url, { socksConfigured: true }).kind).toBe('onion');
    expect(() => assertOnionOrLoopback('https://example.org/', { socksConfigured: true })).toThrow(
      /neither a \.onion address nor loopback/,
    );
  });

  it('the Tor dispatcher refuses non-onion hosts before contacting the proxy', async () => {
    const error: unknown = await request(`http://127.0.0.1:${serverPort}/`, {
      dispatcher: torDispatcher('eve'),
    }).catch((e: unknown) => e);
    expect(isKomradeError(error, 'TOR_UNAVAILABLE')).toBe(true);
  });

  it('launchTor with a missing binary fails with TOR_UNAVAILABLE and an install hint', async () => {
    const error: unknown = await launchTor({ torPath: '/nonexistent/tor' }).catch(
      (e: unknown) => e,
    );
    expect(isKomradeError(error, 'TOR_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/apt-get install tor/);
  });
});
