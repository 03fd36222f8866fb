/**
 * The bridge reaching an Operator only through Tor: a real Operator published as an onion on a
 * private Tor network, komrades on real stores, circuits observed through the client tor's
 * control port.
 */
import dns from 'node:dns';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  HttpOperatorClient,
  KomradeClient,
  RetryingOperatorClient,
  SqliteLocalStore,
  createAnonymousCircuits,
  createOperatorDispatcher,
  ensureCircuitIsolationKey,
  type AnonymousCircuits,
  type OperatorRetry,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import {
  parseCircuitStatus,
  parseStreamLine,
  parseStreamStatus,
  type StreamStatus,
  type TorProcess,
} from '../../tor/index.js';
import type { OperatorProcess } from '../support/operator-process.js';
import { startPublishedOperator } from '../support/published-operator.js';
import { reportTimings, type PrivateTorNetwork } from '../support/tor-network.js';

let network: PrivateTorNetwork | undefined;
let operator: OperatorProcess | undefined;
let clientTor: TorProcess;
let onionUrl: string;
let dir: string;
const dispatchers: Dispatcher[] = [];
const stores: SqliteLocalStore[] = [];
const retries: OperatorRetry[] = [];
const timings: Record<string, number> = {};
/** The circuits every komrade's anonymous sends share here (one pool per process). */
let anonymous: AnonymousCircuits | undefined;

beforeAll(async () => {
  const started = Date.now();
  dir = mkdtempSync(join(tmpdir(), 'komrade-client-tor-'));
  // The Operator listens on loopback only (--insecure-no-tor); the helper publishes it as an onion.
  ({ network, operator, clientTor, onionUrl } = await startPublishedOperator());
  anonymous = createAnonymousCircuits({
    operatorUrl: onionUrl,
    socks: { host: '127.0.0.1', port: clientTor.socksPort! },
  });
  timings.setupMs = Date.now() - started;
}, 120_000);

afterAll(async () => {
  await anonymous?.close();
  await Promise.all(dispatchers.map((d) => d.close()));
  for (const store of stores) store.close();
  await operator?.cleanup();
  await network?.stop();
  rmSync(dir, { recursive: true, force: true });
  reportTimings('client-tor', timings);
}, 60_000);

/** A komrade on a real store, reaching the onion Operator through the client tor. */
function komrade(file: string, pool = anonymous) {
  const store = new SqliteLocalStore(join(dir, `${file}.db`), { storageKey: randomBytes(32) });
  stores.push(store);
  const isolationKey = ensureCircuitIsolationKey(store);
  const dispatcher = createOperatorDispatcher({
    operatorUrl: onionUrl,
    socks: { host: '127.0.0.1', port: clientTor.socksPort! },
    isolationKey,
    connectTimeoutMs: 30_000,
  });
  dispatchers.push(dispatcher);
  const http = new HttpOperatorClient({
    baseUrl: onionUrl,
    dispatcher,
    ...(pool === undefined ? {} : { anonymous: pool }),
    now: Date.now,
  });
  const operatorClient = new RetryingOperatorClient(http, {
    attempts: 12,
    baseMs: 250,
    maxMs: 2_000,
    onRetry: (retry) => retries.push(retry),
  });
  const keys = generateIdentityKeys();
  const client = new KomradeClient({
    operator: operatorClient,
    store,
    keys,
    now: Date.now,
    keyHolder: 'self',
  });
  return { client, operator: operatorClient, store, isolationKey, keys };
}

/** A registration that never gets far: the transport refuses it before connecting. */
const NOBODY = {
  name: 'nobody',
  signKey: new Uint8Array(32),
  boxKey: new Uint8Array(32),
  keyHolder: 'self',
  pop: new Uint8Array(64),
  pow: new Uint8Array(8),
} as const;

const suffix = () => `${process.pid % 1000}_${Math.floor(Math.random() * 1000)}`;

describe('clients reach the Operator only through Tor', () => {
  it('two komrades register and exchange a letter through the onion', async () => {
    const alice = komrade('alice');
    const bob = komrade('bob');
    const [aliceName, bobName] = [`alice_${suffix()}`, `bob_${suffix()}`];
    const first = Date.now();
    await alice.client.register(aliceName);
    timings.firstRegisterMs = Date.now() - first;
    await bob.client.register(bobName);

    await alice.client.send(bobName, 'hello bob, through tor');
    expect(await bob.client.checkInbox()).toMatchObject({ requested: 1 });
    expect(bob.client.accept(aliceName).moved).toBe(1);
    expect(bob.client.inbox()).toEqual([
      expect.objectContaining({ from: aliceName, text: 'hello bob, through tor' }),
    ]);
    await bob.client.send(aliceName, 'hello alice');
    expect(await alice.client.checkInbox()).toMatchObject({ received: 1 });
    expect(alice.client.inbox()[0]).toMatchObject({ from: bobName, text: 'hello alice' });
    // Every retry was announced with a reason, and none was for anything but Tor or a timeout.
    for (const retry of retries) expect(retry.reason).not.toBe('');
    timings.retriesWhileWarmingUp = retries.length;

    // Latency of one request over a warm circuit, against the same Operator on loopback.
    const loopback = createOperatorDispatcher({ operatorUrl: operator!.url, isolationKey: 'x' });
    dispatchers.push(loopback);
    const direct = new HttpOperatorClient({
      baseUrl: operator!.url,
      dispatcher: loopback,
      now: Date.now,
    });
    const average = async (run: () => Promise<unknown>) => {
      await run();
      const start = performance.now();
      for (let i = 0; i < 5; i++) await run();
      return Math.round(((performance.now() - start) / 5) * 10) / 10;
    };
    timings.onionRequestMs = await average(() => alice.operator.info());
    timings.loopbackRequestMs = await average(() => direct.info());
  }, 60_000);

  it('gives two identities of one client different circuits, and reuses one per identity', async () => {
    const carol = komrade('carol');
    const dave = komrade('dave');
    const [carolName, daveName] = [`carol_${suffix()}`, `dave_${suffix()}`];
    const succeeded: StreamStatus[] = [];
    // Watched from before registering: registering publishes prekeys, a signed request that
    // opens the identity's circuit (kept alive for the fetches below).
    const unsubscribe = await clientTor.control.subscribe(['STREAM'], (event) => {
      const stream = parseStreamLine(event.body);
      if (stream?.status === 'SUCCEEDED') succeeded.push(stream);
    });
    // Signed requests ride the identity's own circuit (unsigned reads go on anonymous ones).
    const signer = (name: string, who: typeof carol) => ({
      name,
      signSecret: who.keys.signSecret,
    });
    try {
      await carol.client.register(carolName);
      await dave.client.register(daveName);
      for (let i = 0; i < 5; i++) await carol.operator.fetch(signer(carolName, carol));
      for (let i = 0; i < 5; i++) await dave.operator.fetch(signer(daveName, dave));
    } finally {
      await unsubscribe();
    }
    const streamsOf = (key: string) => succeeded.filter((s) => s.socksUsername === key);
    const circuitsOf = (key: string) => new Set(streamsOf(key).map((s) => s.circuitId));
    for (const key of [carol.isolationKey, dave.isolationKey]) {
      expect(circuitsOf(key).size).toBe(1);
      // Keep-alive: five requests, one stream (undici may open a second while pooling the first).
      expect(streamsOf(key).length).toBeGreaterThanOrEqual(1);
      expect(streamsOf(key).length).toBeLessThanOrEqual(2);
    }
    const carolCircuit = [...circuitsOf(carol.isolationKey)][0]!;
    const daveCircuit = [...circuitsOf(dave.isolationKey)][0]!;
    expect(carolCircuit).not.toBe(daveCircuit);

    // The same picture from GETINFO: open streams and the circuits they ride, by isolation key.
    const info = await clientTor.control.getInfo('stream-status', 'circuit-status');
    const streams = parseStreamStatus(info.get('stream-status') ?? '');
    const circuits = parseCircuitStatus(info.get('circuit-status') ?? '');
    const userOf = new Map(circuits.map((c) => [c.id, c.socksUsername]));
    expect(userOf.get(carolCircuit)).toBe(carol.isolationKey);
    expect(userOf.get(daveCircuit)).toBe(dave.isolationKey);
    // stream-status names no SOCKS user: the kept-alive connections show as open streams on the
    // two identities' circuits.
    const openOn = (circuit: string) =>
      streams.filter((s) => s.circuitId === circuit && s.target.startsWith(new URL(onionUrl).host));
    expect(openOn(carolCircuit).length).toBeGreaterThanOrEqual(1);
    expect(openOn(daveCircuit).length).toBeGreaterThanOrEqual(1);
    // Per identity: one rendezvous circuit carries its requests (its used introduction circuit
    // lingers beside it as CIRCUIT_PADDING, isolated to the same key).
    const builtFor = (key: string) =>
      circuits.filter(
        (c) => c.socksUsername === key && c.status === 'BUILT' && c.purpose === 'HS_CLIENT_REND',
      );
    expect(builtFor(carol.isolationKey)).toHaveLength(1);
    expect(builtFor(dave.isolationKey)).toHaveLength(1);
    // Isolation keys are random, never the komrade's name.
    expect(carol.isolationKey).not.toMatch(/carol/);
  }, 60_000);

  it('sends letters on circuits of their own, never the sender’s', async () => {
    // A pool of its own, each circuit used once, so every send (and the unsigned reads before
    // it, which ride the same pool) opens a stream this test sees.
    const pool = createAnonymousCircuits({
      operatorUrl: onionUrl,
      socks: { host: '127.0.0.1', port: clientTor.socksPort! },
      sendsPerCircuit: 1,
    });
    const erin = komrade('erin', pool);
    const fred = komrade('fred', pool);
    const [erinName, fredName] = [`erin_${suffix()}`, `fred_${suffix()}`];
    await erin.client.register(erinName);
    await fred.client.register(fredName);
    // Tokens first (a signed request on erin's own circuit), as a check of the inbox does.
    await erin.client.checkInbox();
    expect(erin.client.tokensHeld()).toBeGreaterThan(0);
    const succeeded: StreamStatus[] = [];
    const unsubscribe = await clientTor.control.subscribe(['STREAM'], (event) => {
      const stream = parseStreamLine(event.body);
      if (stream?.status === 'SUCCEEDED') succeeded.push(stream);
    });
    try {
      for (let i = 0; i < 3; i++) await erin.client.send(fredName, `letter ${i} over tor`);
    } finally {
      await unsubscribe();
    }
    // Every stream the sends opened to the Operator went under another SOCKS user than either
    // identity's (tor's own directory streams name no onion and no SOCKS user).
    const toOperator = succeeded.filter((s) => s.target.startsWith(new URL(onionUrl).host));
    expect(toOperator.length).toBeGreaterThanOrEqual(3);
    for (const stream of toOperator) {
      expect(stream.socksUsername).toBeDefined();
      expect([erin.isolationKey, fred.isolationKey]).not.toContain(stream.socksUsername);
    }
    expect(await fred.client.checkInbox()).toMatchObject({ requested: 3 });
    await pool.close();
  }, 90_000);

  it('refuses to send to an onion Operator without a SOCKS proxy', async () => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    try {
      let error: unknown;
      try {
        createOperatorDispatcher({ operatorUrl: onionUrl, isolationKey: 'k' });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'TOR_UNAVAILABLE' });
      expect((error as Error).message).toMatch(/no Tor SOCKS proxy is configured/);

      // A direct (loopback) transport handed the onion URL refuses too, before connecting.
      const direct = createOperatorDispatcher({ operatorUrl: operator!.url, isolationKey: 'k' });
      dispatchers.push(direct);
      const misused = new HttpOperatorClient({
        baseUrl: onionUrl,
        dispatcher: direct,
        now: Date.now,
      });
      // A request on the identity's own dispatcher (unsigned reads go on anonymous circuits).
      await expect(misused.register(NOBODY)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect(connect).not.toHaveBeenCalled();
    } finally {
      connect.mockRestore();
    }
  });

  it('refuses a non-onion, non-loopback Operator without any connection attempt', async () => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    const lookup = vi.spyOn(dns, 'lookup');
    try {
      for (const socks of [undefined, { host: '127.0.0.1', port: clientTor.socksPort! }]) {
        let error: unknown;
        try {
          createOperatorDispatcher({
            operatorUrl: 'http://93.184.216.34',
            isolationKey: 'k',
            ...(socks === undefined ? {} : { socks }),
          });
        } catch (e) {
          error = e;
        }
        expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
        expect((error as Error).message).toMatch(/only as a Tor onion service/);
      }
      // Even a Tor dispatcher handed that URL by mistake refuses it before reaching the proxy.
      const tor = createOperatorDispatcher({
        operatorUrl: onionUrl,
        socks: { host: '127.0.0.1', port: clientTor.socksPort! },
        isolationKey: 'k',
      });
      dispatchers.push(tor);
      const misused = new HttpOperatorClient({
        baseUrl: 'http://93.184.216.34',
        dispatcher: tor,
        now: Date.now,
      });
      await expect(misused.register(NOBODY)).rejects.toMatchObject({ code: 'TOR_UNAVAILABLE' });
      expect(connect).not.toHaveBeenCalled();
      expect(lookup).not.toHaveBeenCalled();
    } finally {
      connect.mockRestore();
      lookup.mockRestore();
    }
  });
});
