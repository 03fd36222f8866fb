/**
 * Runs a chat adapter in this process against a real Redis and a real Operator, on a fresh data
 * folder and master key (or an earlier run's, for a restart), with its logs kept: what the Telegram
 * and Discord harnesses share.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Agent, type Dispatcher } from 'undici';
import {
  QUEUE_ROLES,
  queueNames,
  type BridgeEngine,
  type BridgeHostDeps,
} from '../../bridge/index.js';
import {
  createAnonymousCircuits,
  createOperatorDispatcher,
  type SocksAddress,
} from '../../client/index.js';
import { createJsonLogger } from '../../common/logging/index.js';
import type { RedisServer } from './redis-server.js';

/** Options every harness takes. */
export interface HarnessOptions {
  readonly redis: RedisServer;
  readonly operatorUrl: string;
  readonly prefix: string;
  /** Reuse a data folder and master key (a restart). */
  readonly dataDir?: string;
  readonly masterKey?: string;
  readonly pollIntervalMs?: number;
  /** Reach the (onion) Operator through this tor's SOCKS port, a circuit per identity. */
  readonly socks?: SocksAddress;
}

/** What the harness needs of a running adapter. */
export interface HarnessedAdapter {
  readonly engine: BridgeEngine;
  stop(): Promise<void>;
}

/** How the harness starts one kind of adapter. */
export interface AdapterUnderTest<A extends HarnessedAdapter, U> {
  /** Names the temporary data folder, e.g. `discord`. */
  readonly platform: string;
  readonly start: (host: BridgeHostDeps) => Promise<A>;
  /** The key the engine knows a chat user's identity by, e.g. `discord:<id>`. */
  readonly userKey: (user: U) => string;
}

/** A running in-process adapter with its logs. */
export interface RunningAdapter<A extends HarnessedAdapter, U> {
  readonly adapter: A;
  readonly dataDir: string;
  readonly masterKey: string;
  readonly logs: string[];
  /**
   * Every request that went through the adapter's one pool of anonymous circuits (method and
   * path), whichever identity made it: the pool the host shares among all its identities.
   */
  readonly anonymousRequests: readonly string[];
  /** Waits until the queues have nothing waiting, delayed or active (scheduled polls aside). */
  drained(timeoutMs?: number): Promise<void>;
  /** Polls these users' identities once more, then waits for the queues to settle. */
  settle(users: readonly U[]): Promise<void>;
  stop(): Promise<void>;
  /** Stops and removes the data folder. */
  cleanup(): Promise<void>;
}

/** Starts an adapter in-process. */
export async function startAdapterHarness<A extends HarnessedAdapter, U>(
  options: HarnessOptions,
  under: AdapterUnderTest<A, U>,
): Promise<RunningAdapter<A, U>> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), `komrade-${under.platform}-`)));
  const masterKey = options.masterKey ?? randomBytes(32).toString('hex');
  const logs: string[] = [];
  const agent = new Agent();
  const { socks } = options;
  const viaTor = new Map<string, Dispatcher>();
  // Through tor, a circuit per identity as run-adapter-program makes them; else one agent.
  const dispatcherFor = (isolationKey: string): Dispatcher => {
    if (socks === undefined) return agent;
    let dispatcher = viaTor.get(isolationKey);
    if (dispatcher === undefined) {
      dispatcher = createOperatorDispatcher({
        operatorUrl: options.operatorUrl,
        isolationKey,
        socks,
      });
      viaTor.set(isolationKey, dispatcher);
    }
    return dispatcher;
  };
  const anonymousRequests: string[] = [];
  // One pool for the whole adapter, as run-adapter-program makes it, recording what it carries.
  const anonymous = createAnonymousCircuits({
    operatorUrl: options.operatorUrl,
    // A circuit of its own per isolation key: the pool closes a circuit when it retires it.
    createDispatcher: (isolationKey) =>
      (socks === undefined
        ? new Agent()
        : createOperatorDispatcher({ operatorUrl: options.operatorUrl, isolationKey, socks })
      ).compose((dispatch) => (opts, handler) => {
        anonymousRequests.push(`${opts.method} ${opts.path}`);
        return dispatch(opts, handler);
      }),
  });
  const connection = options.redis.connect();
  const adapter = await under.start({
    operatorUrl: options.operatorUrl,
    dispatcherFor,
    anonymous,
    masterKey,
    dataDir,
    connection,
    queuePrefix: options.prefix,
    pollIntervalMs: options.pollIntervalMs ?? 300,
    logger: createJsonLogger({
      level: 'debug',
      write: (line) => {
        logs.push(line);
      },
    }),
    now: Date.now,
  });
  const names = queueNames(options.prefix);
  const queues = QUEUE_ROLES.map((role) => {
    const queue = new Queue(names[role], {
      connection: options.redis.connect(),
      prefix: options.prefix,
    });
    queue.on('error', () => undefined);
    return { role, queue };
  });
  const drained = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // The poll queue always holds each identity's next scheduled poll as a delayed job.
      const counts = await Promise.all(
        queues.map(({ role, queue }) =>
          role === 'poll'
            ? queue.getJobCounts('waiting', 'active', 'prioritized')
            : queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
        ),
      );
      const busy = counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
      if (busy === 0) return;
      if (Date.now() > deadline) throw new Error(`queues not drained: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await adapter.stop();
    await Promise.all(queues.map(({ queue }) => queue.close()));
    connection.disconnect();
    await anonymous.close();
    await agent.close();
    await Promise.all([...viaTor.values()].map((d) => d.destroy()));
  };
  return {
    adapter,
    dataDir,
    masterKey,
    logs,
    anonymousRequests,
    drained,
    settle: async (users) => {
      await drained();
      for (const user of users) {
        const id = adapter.engine.identityOf(under.userKey(user));
        if (id !== undefined) await adapter.engine.pollNow(id.id);
      }
      await drained();
    },
    stop,
    cleanup: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
