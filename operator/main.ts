#!/usr/bin/env node
/** The Operator's composition root: reads argv and env once, wires everything, runs until a signal. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initCrypto } from '../common/crypto/index.js';
import { KomradeError, isKomradeError } from '../common/errors/index.js';
import { createJsonLogger } from '../common/logging/index.js';
import { loadOperatorConfig } from './config/load-operator-config.js';
import { createOperatorServer } from './http/create-operator-server.js';
import { PASSPHRASE_ENV, loadOperatorKeys } from './keys/load-operator-keys.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { Sweeper } from './sweeper/sweeper.js';

const DEFAULT_CONFIG = 'config/operator.example.yaml';
const DATABASE_FILE = 'operator.db';

const USAGE = `Usage: komrade-operator [--config <file>]

Runs the Komrade Operator: an HTTP server on a loopback address, to be reached through Tor.

Options:
  --config <file>  YAML config (default: ${DEFAULT_CONFIG} if it exists, else built-in defaults)
  --help           Show this help

Environment:
  ${PASSPHRASE_ENV}  Passphrase that encrypts the Operator's keys at rest. Without it, a
                     random master.key file in the data folder protects them.
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let args: { config?: string | undefined; help?: boolean | undefined };
  try {
    ({ values: args } = parseArgs({
      options: { config: { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    fail(`${error instanceof Error ? error.message : 'Invalid arguments.'}\n\n${USAGE}`);
  }
  if (args.help === true) {
    process.stdout.write(USAGE);
    return;
  }
  const passphraseValue = process.env[PASSPHRASE_ENV];
  const passphrase = passphraseValue === '' ? undefined : passphraseValue;

  // The database, its WAL and the key files are readable by the Operator's user only.
  process.umask(0o077);
  await initCrypto();
  const configPath = args.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  const config = loadOperatorConfig(configPath);
  const logger = createJsonLogger({ level: config.log.level });
  const dataDir = resolve(config.store.dataDir);

  const keys = loadOperatorKeys({ dataDir, passphrase, logger });
  const store = new SqliteStore(join(dataDir, DATABASE_FILE));
  const operator = createOperatorServer({ config, store, keys, logger });
  const sweeper = new Sweeper({
    store,
    intervalMs: config.sweeper.intervalSeconds * 1_000,
    logger,
  });
  let url: string;
  try {
    url = await operator.listen();
  } catch (cause) {
    await store.close();
    throw new KomradeError(
      'CONFIG_INVALID',
      `Cannot listen on ${config.http.host}:${config.http.port}: ${cause instanceof Error ? cause.message : 'unknown error'}.`,
      { cause },
    );
  }
  sweeper.start();
  logger.info('operator.started', { port: Number(new URL(url).port) });
  process.stdout.write(`Komrade Operator listening on ${url}\n`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('operator.stopping', { signal });
    const stop = async () => {
      await sweeper.stop();
      await operator.close();
      await store.close();
    };
    stop().then(
      () => {
        logger.info('operator.stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('operator.stop_failed', {
          errorType: error instanceof Error ? error.constructor.name : typeof error,
        });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  // Config and key errors carry a safe, actionable message; anything else only its message.
  if (isKomradeError(error)) fail(error.message);
  fail(
    `Komrade Operator failed to start: ${error instanceof Error ? error.message : 'unknown error'}`,
  );
});
