#!/usr/bin/env node
/** Composition root of the `komrade` command: reads the environment once and builds the real parts. */
import { Agent } from 'undici';
import { initCrypto } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { readEnvironment } from './environment.js';
import { Output } from './output.js';
import { EXIT, runCli } from './program.js';

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
  // Direct connections for now; a SOCKS5 dispatcher to Tor plugs in here without touching callers.
  const dispatcher = new Agent({ connect: { timeout: 15_000 } });
  try {
    return await runCli(args, {
      environment,
      output,
      input: process.stdin,
      dispatcher,
      now: Date.now,
    });
  } finally {
    await dispatcher.close();
  }
}

process.exitCode = await main();
