#!/usr/bin/env node
/** The Operator's composition root: reads argv and env once, wires everything, runs until a signal. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initCrypto } from '../common/crypto/index.js';
import { KomradeError, isKomradeError } from '../common/errors/index.js';
import { createJsonLogger, type Logger } from '../common/logging/index.js';
import {
  describeBootstrapStall,
  type BootstrapProgress,
  type BootstrapStall,
} from '../tor/index.js';
import type { OperatorConfig } from './config/operator-config.js';
import { databaseUrlFrom, loadOperatorConfig } from './config/load-operator-config.js';
import { CollectiveService } from './collectives/collective-service.js';
import { createOperatorServer } from './http/create-operator-server.js';
import { KeyProtection, PASSPHRASE_ENV } from './keys/key-protection.js';
import { loadOperatorKeys } from './keys/load-operator-keys.js';
import { CrossOperatorWakeups } from './mail/cross-operator-wakeups.js';
import { InProcessMailSignal, type MailSignal } from './mail/mail-signal.js';
import { MailWaiters } from './mail/mail-waiters.js';
import { AttachedTorConnector } from './onion/attached-tor-connector.js';
import { LaunchedTorConnector } from './onion/launched-tor-connector.js';
import { EncryptedOnionKeyFile } from './onion/onion-key-file.js';
import type { OnionService, PublishedOnion } from './onion/onion-service.js';
import type { TorConnector } from './onion/tor-connector.js';
import { TorOnionService } from './onion/tor-onion-service.js';
import type { OperatorStore } from './store/operator-store.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { Sweeper } from './sweeper/sweeper.js';

const DEFAULT_CONFIG = 'config/operator.example.yaml';
const DATABASE_FILE = 'operator.db';
/** The launched tor's DataDirectory, inside the data folder. */
const TOR_DIR = 'tor';
/** An Onionbalance instance's HiddenServiceDir, inside the data folder. */
const ONIONBALANCE_DIR = 'onionbalance-instance';
const INSECURE_FLAG = 'insecure-no-tor';

const USAGE = `Usage: komrade-operator [--config <file>] [--${INSECURE_FLAG}]

Runs the Komrade Operator: an HTTP server on a loopback address, published as a Tor onion
service. It launches its own tor (or attaches to a running one, see tor.control in the config)
and prints its .onion address; the address stays the same across restarts.

Options:
  --config <file>     YAML config (default: ${DEFAULT_CONFIG} if it exists, else built-in defaults)
  --${INSECURE_FLAG}   Development only: no Tor, loopback HTTP only. NOT anonymous.
  --help              Show this help

Environment:
  ${PASSPHRASE_ENV}  Passphrase that encrypts the Operator's keys and its onion key at rest.
                     Without it, a random master.key file in the data folder protects them.
`;

const INSECURE_WARNING = `WARNING: --${INSECURE_FLAG}: Tor is off. The Operator listens on loopback only and is NOT anonymous; komrades' clients must not use it. Development only.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** `Tor bootstrap 45%: Loading relay descriptors`, plus tor's warning when it reports one. */
function bootstrapLine(progress: BootstrapProgress): string {
  const warning = progress.warning === undefined ? '' : ` (tor warns: ${progress.warning})`;
  return `Tor bootstrap ${progress.percent}%: ${progress.summary}${warning}\n`;
}

/** Builds the onion service from the config: launch a private tor, or attach to a running one. */
function createOnionService(
  config: OperatorConfig,
  dataDir: string,
  target: { host: string; port: number },
  protection: KeyProtection,
  logger: Logger,
): TorOnionService {
  const onProgress = (progress: BootstrapProgress): void => {
    process.stdout.write(bootstrapLine(progress));
  };
  const onStall = (stall: BootstrapStall): void => {
    process.stdout.write(`${describeBootstrapStall(stall)}\n`);
    logger.warn('tor.bootstrap_stalled', {
      percent: stall.progress.percent,
      tag: stall.progress.tag,
      seconds: Math.round(stall.stalledMs / 1_000),
    });
  };
  const { tor } = config;
  const connector: TorConnector =
    tor.control === null
      ? new LaunchedTorConnector({
          torPath: tor.binary,
          dataDir: join(dataDir, TOR_DIR),
          extraTorrcLines: tor.extraTorrcLines,
          bootstrapTimeoutMs: tor.bootstrapTimeoutSeconds * 1_000,
          onProgress,
          onStall,
          stallMs: tor.bootstrapStallSeconds * 1_000,
          logger,
        })
      : new AttachedTorConnector({
          control:
            'port' in tor.control ? { port: tor.control.port } : { path: tor.control.socket },
          ...(tor.cookieFile === null ? {} : { cookiePath: resolve(tor.cookieFile) }),
          onProgress,
          logger,
        });
  return new TorOnionService({
    connector,
    keys: new EncryptedOnionKeyFile({ dataDir, protection, logger }),
    // ADD_ONION wants an IPv6 target in brackets.
    target: {
      host: target.host.includes(':') ? `[${target.host}]` : target.host,
      port: target.port,
    },
    virtualPort: tor.onionVirtualPort,
    powDefenses: true,
    ...(tor.onionbalance === null
      ? {}
      : {
          onionbalance: {
            masterAddress: tor.onionbalance.masterAddress,
            serviceDir: join(dataDir, ONIONBALANCE_DIR),
          },
        }),
    logger,
    events: {
      onTorLost: (loss) => {
        const how =
          loss.exitSignal !== undefined && loss.exitSignal !== null
            ? ` (killed by ${loss.exitSignal})`
            : loss.exitCode !== undefined && loss.exitCode !== null
              ? ` (exit code ${loss.exitCode})`
              : '';
        process.stderr.write(`Tor stopped unexpectedly${how}; restarting it.\n`);
      },
      onRestartFailed: ({ attempt, delayMs, error }) => {
        const why = isKomradeError(error) ? `: ${error.message}` : '';
        process.stderr.write(
          `Tor restart attempt ${attempt} failed${why}; retrying in ${Math.round(delayMs / 1_000)} s.\n`,
        );
      },
      onRepublished: (onion) => {
        process.stdout.write(`Tor restarted; onion service republished at ${onion.url}\n`);
      },
    },
  });
}

/** The store the config chooses, with what several Operators on it need. */
async function openStore(
  config: OperatorConfig,
  dataDir: string,
  logger: Logger,
): Promise<{
  store: OperatorStore;
  mailSignal: MailSignal;
  sweepLock?: PostgresStore['sweepLock'];
}> {
  if (config.store.kind === 'sqlite') {
    return {
      store: new SqliteStore(join(dataDir, DATABASE_FILE)),
      mailSignal: new InProcessMailSignal(),
    };
  }
  const connectionString = databaseUrlFrom(config.store);
  let store: PostgresStore;
  try {
    store = await PostgresStore.open({
      connectionString,
      maxConnections: config.store.maxConnections,
    });
  } catch (cause) {
    // The driver's message names host and database at most; never the password.
    const why = cause instanceof Error ? cause.message.replaceAll(connectionString, '…') : '';
    throw new KomradeError(
      'CONFIG_INVALID',
      `Cannot open the PostgreSQL database named by ${config.store.databaseUrlEnv}${why === '' ? '' : `: ${why}`}.`,
      { cause },
    );
  }
  return { store, mailSignal: store.mailSignal(logger), sweepLock: store.sweepLock };
}

/** The start-up line's store: the SQLite file, or PostgreSQL and the variable naming it. */
function describeStore(config: OperatorConfig): string {
  return config.store.kind === 'sqlite'
    ? `SQLite (${join(resolve(config.store.dataDir), DATABASE_FILE)})`
    : `PostgreSQL (connection string from ${config.store.databaseUrlEnv})`;
}

async function main(): Promise<void> {
  let args: {
    config?: string | undefined;
    help?: boolean | undefined;
    [INSECURE_FLAG]?: boolean | undefined;
  };
  try {
    ({ values: args } = parseArgs({
      options: {
        config: { type: 'string' },
        help: { type: 'boolean' },
        [INSECURE_FLAG]: { type: 'boolean' },
      },
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
  const insecureNoTor = args[INSECURE_FLAG] === true;
  const passphraseValue = process.env[PASSPHRASE_ENV];
  const passphrase = passphraseValue === '' ? undefined : passphraseValue;

  // The database, its WAL and the key files are readable by the Operator's user only.
  process.umask(0o077);
  const cryptoBuild = await initCrypto();
  const configPath = args.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined);
  const config = loadOperatorConfig(configPath);
  const logger = createJsonLogger({ level: config.log.level });
  const dataDir = resolve(config.store.dataDir);

  if (insecureNoTor) {
    process.stderr.write(`${INSECURE_WARNING}\n`);
    logger.warn('operator.insecure_no_tor', {
      detail: 'Started with --insecure-no-tor: no onion service, not anonymous.',
    });
  }

  // One protection for every secret at rest, so a passphrase is stretched once per start.
  const protection = new KeyProtection({ dataDir, passphrase, logger });
  const keys = loadOperatorKeys({ dataDir, passphrase, logger, protection });
  const { store, mailSignal, sweepLock } = await openStore(config, dataDir, logger);
  // One index of held waits for the process: every deposit route wakes it.
  const mailWaiters = new MailWaiters();
  // Deposits through other Operators on the same database wake this one's waits too.
  const wakeups = new CrossOperatorWakeups({
    signal: mailSignal,
    waiters: mailWaiters,
    store,
    logger,
  });
  // With other Operators on the store, a collective's log in memory first reads their appends.
  const collectives = new CollectiveService({
    store,
    sharedStore: config.store.kind === 'postgres',
  });
  const operator = createOperatorServer({ config, store, keys, logger, mailWaiters, collectives });
  const sweeper = new Sweeper({
    store,
    intervalMs: config.sweeper.intervalSeconds * 1_000,
    logger,
    ...(sweepLock === undefined ? {} : { exclusive: sweepLock }),
  });
  try {
    await wakeups.start();
  } catch (cause) {
    await store.close();
    throw new KomradeError(
      'CONFIG_INVALID',
      `Cannot listen for other Operators' deposits on the database named by ${config.store.databaseUrlEnv}.`,
      { cause },
    );
  }
  let url: string;
  try {
    url = await operator.listen();
  } catch (cause) {
    await wakeups.close();
    await store.close();
    throw new KomradeError(
      'CONFIG_INVALID',
      `Cannot listen on ${config.http.host}:${config.http.port}: ${cause instanceof Error ? cause.message : 'unknown error'}.`,
      { cause },
    );
  }
  sweeper.start();
  const port = Number(new URL(url).port);
  logger.info('operator.started', { port, sodium: cryptoBuild, store: config.store.kind });
  process.stdout.write(`Komrade Operator store: ${describeStore(config)}\n`);
  process.stdout.write(`Komrade Operator listening on ${url}\n`);

  const onion: OnionService | undefined = insecureNoTor
    ? undefined
    : createOnionService(config, dataDir, { host: config.http.host, port }, protection, logger);

  // An object, so the compiler does not keep a narrowing of the flag across an await.
  const state = { stopping: false };
  const stopAll = async (): Promise<void> => {
    await onion?.stop();
    await sweeper.stop();
    await wakeups.close();
    await operator.close();
    await store.close();
  };
  const shutdown = (signal: NodeJS.Signals) => {
    if (state.stopping) return;
    state.stopping = true;
    process.stdout.write(`Komrade Operator stopping (${signal})\n`);
    logger.info('operator.stopping', { signal });
    stopAll().then(
      () => {
        logger.info('operator.stopped');
        process.stdout.write('Komrade Operator stopped\n');
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

  if (onion !== undefined) {
    let published: PublishedOnion;
    try {
      published = await onion.start();
    } catch (error) {
      if (state.stopping) return;
      state.stopping = true;
      await stopAll();
      throw isKomradeError(error, 'TOR_UNAVAILABLE')
        ? new KomradeError(
            'TOR_UNAVAILABLE',
            `Cannot publish the Operator as an onion service: ${error.message}. (Set tor.binary or tor.control in the config; --${INSECURE_FLAG} runs without Tor, for development only.)`,
            { cause: error },
          )
        : error;
    }
    if (state.stopping) return;
    logger.info('operator.onion.ready', { pow: published.powDefenses });
    if (!published.powDefenses) {
      process.stderr.write(
        'Note: this tor does not support onion-service proof-of-work defences (tor 0.4.9.1 or newer does).\n',
      );
    }
    if (config.tor.onionbalance !== null) {
      // Komrades use the front's address; the line below is the instance's own (for the front).
      process.stdout.write(
        `Onionbalance instance of http://${config.tor.onionbalance.masterAddress} (komrades use that address)\n`,
      );
    }
    process.stdout.write(`Komrade Operator onion: ${published.url}\n`);
  }
}

main().catch((error: unknown) => {
  // Config, key and Tor errors carry a safe, actionable message; anything else only its message.
  if (isKomradeError(error)) fail(error.message);
  fail(
    `Komrade Operator failed to start: ${error instanceof Error ? error.message : 'unknown error'}`,
  );
});
