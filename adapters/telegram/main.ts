#!/usr/bin/env node
/**
 * Composition root of `komrade-telegram`: reads the config and secrets once, builds Redis, the
 * Operator dispatcher and the bot, and runs until SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import { createOperatorDispatcher } from '../../bridge/index.js';
import { initCrypto } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { createJsonLogger } from '../../common/logging/index.js';
import { startTelegramAdapter } from './adapter.js';
import { loadTelegramConfig } from './config.js';
import { printFatal, printReady } from './output.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  if (values.config === undefined) {
    printFatal('Usage: komrade-telegram --config telegram.yaml (see config/telegram.example.yaml)');
    return 2;
  }
  let loaded;
  try {
    loaded = loadTelegramConfig(values.config, process.env);
  } catch (error) {
    printFatal(isKomradeError(error) ? error.message : 'Cannot load the config.');
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
  let adapter;
  try {
    adapter = await startTelegramAdapter({
      token: secrets.token,
      apiRoot: config.telegram.apiRoot,
      throttle: config.telegram.throttle,
      operatorUrl: config.operator.url,
      dispatcherFor,
      masterKey: secrets.masterKey,
      dataDir: config.store.dataDir,
      connection,
      queuePrefix: config.redis.queuePrefix,
      pollIntervalMs: Math.round(config.mail.pollIntervalSeconds * 1000),
      logger,
      now: Date.now,
    });
  } catch (error) {
    printFatal(isKomradeError(error) ? error.message : 'The bot could not start.');
    connection.disconnect();
    await closeDispatchers();
    return 1;
  }
  printReady();
  await new Promise<void>((resolveStop) => {
    process.once('SIGTERM', resolveStop);
    process.once('SIGINT', resolveStop);
  });
  await adapter.stop();
  connection.disconnect();
  await closeDispatchers();
  return 0;
}

process.exitCode = await main();
