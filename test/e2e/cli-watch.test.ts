/**
 * `komrade inbox --watch` as a person runs it: the built CLI as a child process against a real
 * Operator process, showing a letter sent after it started, then ended with Ctrl-C (SIGINT).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KOMRADE_CLI,
  TEST_PASSPHRASE,
  assertCliBuilt,
  cliKomrades,
  type CliKomrades,
} from '../support/komrade-cli.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';

let operator: OperatorProcess;
let komrades: CliKomrades;

beforeAll(async () => {
  assertCliBuilt();
  operator = await startOperatorProcess({ powBits: 4 });
  komrades = cliKomrades('komrade-cli-watch-');
  await komrades.register(['alice', 'bob'], operator.url);
  // Bob writes first, so Alice's letters reach his inbox rather than his requests.
  await komrades.run('bob', ['send', '@alice', 'Hello Alice.']);
});
afterAll(async () => {
  await operator.cleanup();
  komrades.remove();
});

/** Text a stream has shown so far, and a way to wait (by what it shows, not by time) for more. */
function collect(stream: NodeJS.ReadableStream) {
  let text = '';
  const waiters: (() => void)[] = [];
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    text += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    get text() {
      return text;
    },
    async until(needle: string): Promise<void> {
      while (!text.includes(needle)) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

describe('komrade inbox --watch', () => {
  it('shows a letter sent after it started, and stops cleanly on Ctrl-C', async () => {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !key.startsWith('KOMRADE_TOR_')) env[key] = value;
    }
    env.KOMRADE_PASSPHRASE = TEST_PASSPHRASE;
    env.KOMRADE_KDF = 'interactive';
    const child = spawn(
      process.execPath,
      [KOMRADE_CLI, '--home', komrades.home('bob'), 'inbox', '--watch'],
      { env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stdin.end();
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    try {
      await stderr.until('Watching for new letters');
      expect(stdout.text).toContain('Your inbox is empty.');

      await komrades.run('alice', ['send', '@bob', 'Meeting moved to nine.']);
      await stdout.until('Meeting moved to nine.');
      expect(stdout.text).toContain('From @alice');

      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stderr.text).toContain('Stopped watching.');
      expect(stderr.text).not.toContain('Error');
      expect(stderr.text).not.toContain(TEST_PASSPHRASE);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
