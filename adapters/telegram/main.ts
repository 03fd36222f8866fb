#!/usr/bin/env node
/**
 * Composition root of `komrade-telegram`: the Telegram bot inside the process every adapter shares
 * (config and secrets read once, Redis, one Operator dispatcher per identity, SIGTERM/SIGINT).
 */
import { runAdapterProgram } from '../../bridge/index.js';
import { startTelegramAdapter } from './adapter.js';
import { loadTelegramConfig } from './config.js';
import { printFatal, printReady } from './output.js';
import { describeStartFailure } from './start-failure.js';

process.exitCode = await runAdapterProgram({
  usage: 'Usage: komrade-telegram --config telegram.yaml (see config/telegram.example.yaml)',
  load: loadTelegramConfig,
  start: (host, config, token) =>
    startTelegramAdapter({
      ...host,
      token,
      apiRoot: config.telegram.apiRoot,
      throttle: config.telegram.throttle,
    }),
  startFailure: (error, config) => describeStartFailure(error, config.telegram.apiRoot),
  printFatal,
  printReady,
});
