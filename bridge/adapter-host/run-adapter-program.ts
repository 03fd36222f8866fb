/**
 * The process around a chat adapter (what each adapter's main.ts runs): reads `--config` and the
 * secrets once, connects Redis (or says why it cannot), gives each identity its own Operator
 * dispatcher, starts the bot and runs until SIGTERM/SIGINT, which stop it within seconds whatever
 * state it is in.
 */
import { parseArgs } from 'node:util';
import type { Dispatcher } from 'undici';
import { initCrypto } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { createJsonLogger } from '../../common/logging/index.js';
import {
  createAnonymousCircuits,
  createOperatorDispatcher,
  type AnonymousCircuits,
} from '../../client/index.js';
import type { AdapterConfig } from './adapter-config.js';
import type { AdapterSecrets } from './adapter-secrets.js';
import type { BridgeHostDeps } from './bridge-host.js';
import { connectRedis, redisUrlForLogs } from './redis-connection.js';

/** A chat adapter, as its main.ts describes it. */
export interface AdapterProgram<C extends AdapterConfig> {
  /** What to print without `--config`. */
  readonly usage: string;
  /**
   * Loads the YAML config and the secrets it points to.
   * @throws `CONFIG_INVALID` naming the file, line and field (never a value)
   */
  readonly load: (path: string, env: NodeJS.ProcessEnv) => { config: C; secrets: AdapterSecrets };
  /** Starts the bot on the shared parts; resolves once it is connected to its platform. */
  readonly start: (
    host: BridgeHostDeps,
    config: C,
    token: string,
  ) => Promise<{ stop(): Promise<void> }>;
  /**
   * What to say when `start` throws anything but a KomradeError, e.g. the platform's answer to the
   * token (never a secret; the token is cut out of whatever this returns anyway).
   */
  readonly startFailure?: (error: unknown, config: C) => string;
  /** Writes a fatal startup message to stderr. */
  readonly printFatal: (message: string) => void;
  /** Tells whoever started the process (a supervisor, the test harness) that the bot runs. */
  readonly printReady: () => void;
}

/** How long Redis may take to answer at start (it may be starting beside the bot). */
const REDIS_CONNECT_TIMEOUT_MS = 10_000;
/** How long a stop may take to let running jobs finish before the process ends anyway. */
const STOP_GRACE_MS = 5_000;
/** How long the process may linger after returning (sockets, timers) before it is ended. */
const EXIT_GRACE_MS = 1_000;

/** Resolves on the first SIGTERM or SIGINT; a second one gets Node's default (exit at once). */
function firstStopSignal(): Promise<void> {
  return new Promise((resolveStop) => {
    const stop = () => {
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      resolveStop();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Resolves with `work`'s result, or `undefined` once `ms` have passed. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<undefined>((resolveLate) => {
        timer = setTimeout(() => {
          resolveLate(undefined);
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends the process `EXIT_GRACE_MS` from now unless it has ended by itself. */
function exitSoon(code: number): number {
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  return code;
}

/**
 * Runs `program` until SIGTERM/SIGINT. A signal during startup ends it too; a stop that takes
 * longer than a few seconds (Redis gone, a job stuck) is cut short.
 * @returns the exit code: 0 after a signal, 1 when the bot could not start (Redis unreachable,
 * the platform refused the token…), 2 for a missing `--config` or a bad config
 */
export async function runAdapterProgram<C extends AdapterConfig>(
  program: AdapterProgram<C>,
): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  if (values.config === undefined) {
    program.printFatal(program.usage);
    return 2;
  }
  let loaded;
  try {
    loaded = program.load(values.config, process.env);
  } catch (error) {
    program.printFatal(isKomradeError(error) ? error.message : 'Cannot load the config.');
    return 2;
  }
  const { config, secrets } = loaded;
  const stopRequested = firstStopSignal();
  const logger = createJsonLogger({ level: config.log.level });
  await initCrypto();
  const redisUrl = redisUrlForLogs(config.redis);
  const redis = await connectRedis({
    host: config.redis.host,
    port: config.redis.port,
    db: config.redis.db,
    password: secrets.redisPassword,
    timeoutMs: REDIS_CONNECT_TIMEOUT_MS,
    abort: stopRequested,
  });
  if (!redis.ok) {
    if (redis.aborted) return exitSoon(0);
    program.printFatal(redis.reason);
    return exitSoon(1);
  }
  const { connection } = redis;
  // ioredis warns on the console about an 'error' event nobody listens to; the engine logs the
  // outage itself (`bridge.redis_lost`, `bridge.redis_back`) once it runs.
  connection.on('error', () => undefined);
  // One dispatcher per identity: through Tor (onion Operator) each gets its own circuit, keyed by
  // the identity's opaque id; a loopback Operator is reached directly (development, tests).
  const dispatchers = new Map<string, Dispatcher>();
  const socks =
    config.tor === undefined
      ? {}
      : { socks: { host: config.tor.socksHost, port: config.tor.socksPort } };
  // Anonymous sends of every identity share one pool of short-lived circuits, apart from all the
  // identities' own: nothing ties a letter to the circuit its sender fetches on.
  let anonymous: AnonymousCircuits;
  try {
    anonymous = createAnonymousCircuits({ operatorUrl: config.operator.url, ...socks });
  } catch (error) {
    // An onion Operator without a tor in the config: said before anything starts.
    connection.disconnect();
    program.printFatal(error instanceof Error ? error.message : 'No transport to the Operator.');
    return exitSoon(2);
  }
  const dispatcherFor = (isolationKey: string): Dispatcher => {
    let dispatcher = dispatchers.get(isolationKey);
    if (dispatcher === undefined) {
      dispatcher = createOperatorDispatcher({
        operatorUrl: config.operator.url,
        isolationKey,
        ...socks,
      });
      dispatchers.set(isolationKey, dispatcher);
    }
    return dispatcher;
  };
  const release = async () => {
    connection.disconnect();
    // Nothing of the bot runs any more: whatever is still open to the Operator can go.
    await within(
      Promise.all([...[...dispatchers.values()].map((d) => d.destroy()), anonymous.close()]),
      EXIT_GRACE_MS,
    ).catch(() => undefined);
  };
  const host: BridgeHostDeps = {
    operatorUrl: config.operator.url,
    dispatcherFor,
    anonymous,
    masterKey: secrets.masterKey,
    dataDir: config.store.dataDir,
    connection,
    queuePrefix: config.redis.queuePrefix,
    pollIntervalMs: Math.round(config.mail.pollIntervalSeconds * 1000),
    waitGroupSize: config.mail.waitGroupSize,
    logger,
    redis: redisUrl,
    registryMonitorEveryMs: Math.round(config.monitor.everyMinutes * 60_000),
    now: Date.now,
  };
  const starting = program.start(host, config, secrets.token);
  const started = await Promise.race([
    starting.then(
      (adapter) => ({ adapter }),
      (error: unknown) => ({ error }),
    ),
    stopRequested.then(() => 'stop' as const),
  ]);
  if (started === 'stop') {
    // Stopped while connecting to the platform: stop the bot if it comes up after all.
    void starting.then((adapter) => adapter.stop()).catch(() => undefined);
    await release();
    return exitSoon(0);
  }
  if ('error' in started) {
    const { error } = started;
    const message = isKomradeError(error)
      ? error.message
      : (program.startFailure?.(error, config) ?? 'The bot could not start.');
    program.printFatal(message.replaceAll(secrets.token, '…'));
    await release();
    return exitSoon(1);
  }
  program.printReady();
  await stopRequested;
  logger.info('adapter.stopping', {});
  const stopped = await within(
    started.adapter.stop().then(() => true),
    STOP_GRACE_MS,
  ).catch(() => true);
  if (stopped !== true) logger.warn('adapter.stop_cut_short', { afterMs: STOP_GRACE_MS });
  await release();
  return exitSoon(0);
}
