#!/usr/bin/env node
/** Composition root of the `komrade` command: reads the environment once and builds the real parts. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCrypto } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { launchTor } from '../../tor/index.js';
import { readEnvironment } from './environment.js';
import { Output } from './output.js';
import { EXIT, runCli } from './program.js';
import type { ChatAdapter } from './session.js';
import { transportOpener } from './tor-transport.js';

async function main(): Promise<number> {
  // `komrade … | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const args = process.argv.slice(2);
  const output = new Output({ stdout: process.stdout, stderr: process.stderr });
  let environment;
  try {
    environment = readEnvironment(process.env);
  } catch (error) {
    output.json = args.includes('--json');
    const message = isKomradeError(error) ? error.message : 'Bad environment.';
    output.error({ code: 'USAGE', message });
    return EXIT.usage;
  }
  await initCrypto();
  // Each command opens its transport on first use and closes it (stopping any tor it launched)
  // when it ends, so the process exits promptly; tor also exits with us (__OwningControllerProcess).
  const openTransport = transportOpener({
    output,
    launchTor,
    extraTorrcFile: environment.torExtraTorrcFile,
    now: Date.now,
  });
  return runCli(args, {
    environment,
    output,
    input: process.stdin,
    openTransport,
    now: Date.now,
    runAdapter,
    onInterrupt,
    ...versionOf(),
  });
}

/** Ctrl-C or SIGTERM calls `listener` once; a second one ends the process at once (130). */
function onInterrupt(listener: () => void): () => void {
  let told = false;
  const handler = () => {
    if (told) process.exit(128 + constants.signals.SIGINT);
    told = true;
    listener();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** The version in komrade's package.json (from the source tree or from dist/), if found. */
function versionOf(): { version?: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++, dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as unknown;
      if (typeof manifest !== 'object' || manifest === null) continue;
      const { name, version } = manifest as { name?: unknown; version?: unknown };
      if (name === 'komrade' && typeof version === 'string') return { version };
    } catch {
      // Not here: look one folder up.
    }
  }
  return {};
}

/** Runs `dist/adapters/<adapter>/main.js` in the foreground, passing signals through. */
function runAdapter(adapter: ChatAdapter, args: readonly string[]): Promise<number> {
  const entry = fileURLToPath(new URL(`../${adapter}/main.js`, import.meta.url));
  const child = spawn(process.execPath, [entry, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      // A child ended by a signal exits like a shell reports it: 128 + the signal's number.
      resolve(code ?? (signal === null ? EXIT.error : 128 + constants.signals[signal]));
    });
    child.once('error', () => {
      resolve(EXIT.error);
    });
  });
}

process.exitCode = await main();
