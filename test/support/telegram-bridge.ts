/**
 * Runs the Telegram adapter in this process against a Bot API emulator, a real Redis and a real
 * Operator, and plays Telegram users: the harness of the Telegram e2e and bridge queue tests.
 */
import { startTelegramAdapter, type TelegramAdapter } from '../../adapters/telegram/adapter.js';
import {
  startAdapterHarness,
  type HarnessOptions,
  type RunningAdapter,
} from './adapter-harness.js';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';
import { TelegramEmulator, type EmulatedUser } from './telegram-emulator.js';

/** Options for {@link startBridge}. */
export interface BridgeOptions extends HarnessOptions {
  readonly emulator: TelegramEmulator;
  readonly throttle?: boolean;
}

/** A running in-process adapter with its logs. */
export type RunningBridge = RunningAdapter<TelegramAdapter, EmulatedUser>;

/** Starts the adapter in-process. */
export function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  return startAdapterHarness(options, {
    platform: 'telegram',
    start: (host) =>
      startTelegramAdapter({
        ...host,
        token: options.emulator.token,
        apiRoot: options.emulator.apiRoot,
        throttle: options.throttle ?? false,
      }),
    userKey: (user) => `telegram:${user.id}`,
  });
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

/** Runs each of `users`' polls once more and waits for the bridge's queues to settle. */
export function settle(bridge: RunningBridge, users: readonly EmulatedUser[]): Promise<void> {
  return bridge.settle(users);
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

/**
 * A real Operator and Redis, the Bot API emulator, and the adapter on a fresh queue prefix.
 * @param emulator - the emulator to start, if the caller needs it before the stack is up
 */
export async function startTelegramStack(
  emulator = new TelegramEmulator(),
): Promise<TelegramStack> {
  const [operator, redis] = await Promise.all([
    startOperatorProcess({ powBits: 8 }),
    startRedisServer(),
  ]);
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
