#!/usr/bin/env node
/**
 * Composition root of `komrade-discord`: the Discord bot inside the process every adapter shares
 * (config and secrets read once, Redis, one Operator dispatcher per identity, SIGTERM/SIGINT).
 */
import { runAdapterProgram } from '../../bridge/index.js';
import { startDiscordAdapter } from './adapter.js';
import { loadDiscordConfig } from './config.js';
import { printFatal, printReady } from './output.js';
import { describeStartFailure } from './start-failure.js';

process.exitCode = await runAdapterProgram({
  usage: 'Usage: komrade-discord --config discord.yaml (see config/discord.example.yaml)',
  load: loadDiscordConfig,
  start: (host, config, token) =>
    startDiscordAdapter({
      ...host,
      token,
      apiRoot: config.discord.apiRoot,
      commandGuilds: config.discord.commandGuilds,
    }),
  startFailure: describeStartFailure,
  printFatal,
  printReady,
});
