/**
 * The process around a chat adapter (what each adapter's main.ts runs): reads `--config` and the
 * secrets once, connects Redis, gives each identity its own Operator dispatcher, starts the bot and
 * runs until SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import { initCrypto } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { createJsonLogger } from '../../common/logging/index.js';
import { createOperatorDispatcher } from '../transport/create-operator-dispatcher.js';
import type { AdapterConfig } from './adapter-config.js';
import type { AdapterSecrets } from './adapter-secrets.js';
import type { BridgeHostDeps } from './bridge-host.js';

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
  /** What to say when `start` throws anything but a KomradeError (never a secret). */
  readonly startFailure?: (error: unknown) => string;
  /** Writes a fatal startup message to stderr. */
  readonly printFatal: (message: string) => void;
  /** Tells whoever started the process (a supervisor, the test harness) that the bot runs. */
  readonly printReady: () => void;
}

/**
 * Runs `program` until SIGTERM/SIGINT.
 * @returns the exit code: 0 after a signal, 1 when the bot could not start, 2 for a missing
 * `--config` or a bad config
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
  const logger = createJsonLogger({ level: config.log.level });
  await initCrypto();
  const connection = new Redis({
    host: config.redis.host,
    port: config.redis.port,
    db: config.redis.db,
    ...(secrets.redisPassword === undefined ? {} : { password: secrets.redisPassword }),
    maxRetriesPerRequest: null,
  });
  connection.on('error', (error: Error & { code?: unknown }) => {
    logger.warn('redis.error', { code: typeof error.code === 'string' ? error.code : 'ERROR' });
  });
  // One dispatcher per identity: through Tor (onion Operator) each gets its own circuit, keyed by
  // the identity's opaque id; a loopback Operator is reached directly (development, tests).
  const dispatchers = new Map<string, Dispatcher>();
  const dispatcherFor = (isolationKey: string): Dispatcher => {
    let dispatcher = dispatchers.get(isolationKey);
    if (dispatcher === undefined) {
      dispatcher = createOperatorDispatcher({
        operatorUrl: config.operator.url,
        isolationKey,
        ...(config.tor === undefined
          ? {}
          : { socks: { host: config.tor.socksHost, port: config.tor.socksPort } }),
      });
      dispatchers.set(isolationKey, dispatcher);
    }
    return dispatcher;
  };
  const closeDispatchers = () => Promise.all([...dispatchers.values()].map((d) => d.close()));
  const host: BridgeHostDeps = {
    operatorUrl: config.operator.url,
    dispatcherFor,
    masterKey: secrets.masterKey,
    dataDir: config.store.dataDir,
    connection,
    queuePrefix: config.redis.queuePrefix,
    pollIntervalMs: Math.round(config.mail.pollIntervalSeconds * 1000),
    logger,
    now: Date.now,
  };
  let adapter;
  try {
    adapter = await program.start(host, config, secrets.token);
  } catch (error) {
    program.printFatal(
      isKomradeError(error)
        ? error.message
        : (program.startFailure?.(error) ?? 'The bot could not start.'),
    );
    connection.disconnect();
    await closeDispatchers();
    return 1;
  }
  program.printReady();
  await new Promise<void>((resolveStop) => {
    process.once('SIGTERM', resolveStop);
    process.once('SIGINT', resolveStop);
  });
  await adapter.stop();
  connection.disconnect();
  await closeDispatchers();
  return 0;
}
