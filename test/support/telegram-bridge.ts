/**
 * Runs the Telegram adapter in this process against a Bot API emulator, a real Redis and a real
 * Operator, and plays Telegram users: the harness of the Telegram e2e and bridge queue tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Agent } from 'undici';
import { startTelegramAdapter, type TelegramAdapter } from '../../adapters/telegram/adapter.js';
import { createJsonLogger } from '../../common/logging/index.js';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';
import { TelegramEmulator, type EmulatedUser } from './telegram-emulator.js';

/** Options for {@link startBridge}. */
export interface BridgeOptions {
  readonly emulator: TelegramEmulator;
  readonly redis: RedisServer;
  readonly operatorUrl: string;
  readonly prefix: string;
  /** Reuse a data folder and master key (a restart). */
  readonly dataDir?: string;
  readonly masterKey?: string;
  readonly throttle?: boolean;
  readonly pollIntervalMs?: number;
}

/** A running in-process adapter with its logs. */
export interface RunningBridge {
  readonly adapter: TelegramAdapter;
  readonly dataDir: string;
  readonly masterKey: string;
  readonly logs: string[];
  /** Waits until the bridge's queues have nothing waiting, delayed or active (scheduled polls aside). */
  drained(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  /** Stops and removes the data folder. */
  cleanup(): Promise<void>;
}

/** Starts the adapter in-process. */
export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'komrade-telegram-')));
  const masterKey = options.masterKey ?? randomBytes(32).toString('hex');
  const logs: string[] = [];
  const agent = new Agent();
  const connection = options.redis.connect();
  const adapter = await startTelegramAdapter({
    token: options.emulator.token,
    apiRoot: options.emulator.apiRoot,
    throttle: options.throttle ?? false,
    operatorUrl: options.operatorUrl,
    dispatcherFor: () => agent,
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
  const queues = ['outbox', 'poll', 'deliver'].map((role) => {
    const queue = new Queue(`${options.prefix}-${role}`, {
      connection: options.redis.connect(),
      prefix: options.prefix,
    });
    queue.on('error', () => undefined);
    return queue;
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await adapter.stop();
    await Promise.all(queues.map((q) => q.close()));
    connection.disconnect();
    await agent.close();
  };
  return {
    adapter,
    dataDir,
    masterKey,
    logs,
    drained: async (timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // The poll queue always holds each identity's next scheduled poll as a delayed job.
        const counts = await Promise.all(
          queues.map((q, i) =>
            i === 1
              ? q.getJobCounts('waiting', 'active', 'prioritized')
              : q.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
          ),
        );
        const busy = counts.reduce(
          (sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0),
          0,
        );
        if (busy === 0) return;
        if (Date.now() > deadline) throw new Error(`queues not drained: ${JSON.stringify(counts)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop,
    cleanup: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// Ten-digit ids like Telegram's, random so a leak scan cannot match them inside a timestamp.
let nextUserId = 6_100_000_000 + Math.floor(Math.random() * 90_000_000);
/** A new simulated Telegram user. */
export function telegramUser(firstName: string): EmulatedUser {
  nextUserId += 1;
  return { id: nextUserId, first_name: firstName };
}

/** The user registers `name` and waits for the bot to confirm. */
export async function register(
  emulator: TelegramEmulator,
  user: EmulatedUser,
  name: string,
): Promise<void> {
  emulator.userSends(user, `/register ${name}`);
  await emulator.waitForBotMessage(user.id, new RegExp(`Registered as @${name}\\b`), 20_000);
}

/** Everything a Telegram end-to-end test runs against, started together. */
export interface TelegramStack {
  readonly operator: OperatorProcess;
  readonly redis: RedisServer;
  readonly emulator: TelegramEmulator;
  readonly bridge: RunningBridge;
  /** Stops the adapter, the emulator, the Operator and Redis, and removes their folders. */
  stop(): Promise<void>;
}

/** A real Operator and Redis, the Bot API emulator, and the adapter on a fresh queue prefix. */
export async function startTelegramStack(): Promise<TelegramStack> {
  const [operator, redis] = await Promise.all([
    startOperatorProcess({ powBits: 8 }),
    startRedisServer(),
  ]);
  const emulator = new TelegramEmulator();
  await emulator.start();
  const bridge = await startBridge({
    emulator,
    redis,
    operatorUrl: operator.url,
    prefix: testPrefix(),
  });
  return {
    operator,
    redis,
    emulator,
    bridge,
    stop: async () => {
      await bridge.cleanup();
      await emulator.close();
      await Promise.all([operator.cleanup(), redis.cleanup()]);
    },
  };
}
