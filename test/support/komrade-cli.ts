/** Runs the built `komrade` command as a child process, the way a person or a script would. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The keystore passphrase every test identity uses; a test checks it never shows up in output. */
export const TEST_PASSPHRASE = 'a long and secret passphrase';

/** The built CLI entry point. */
export const KOMRADE_CLI = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'dist',
  'adapters',
  'cli',
  'main.js',
);

/** What one run printed and how it ended. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Options for {@link runKomrade}. */
export interface CliRunOptions {
  /** Adds `--home <dir>` before the arguments. */
  readonly home?: string;
  /** Standard input (closed at once when absent). */
  readonly input?: string;
  /** Extra environment; an `undefined` value removes that variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Throws a clear error when the CLI has not been built. */
export function assertCliBuilt(): void {
  if (!existsSync(KOMRADE_CLI)) {
    throw new Error(`${KOMRADE_CLI} is missing: run \`npm run build\` first.`);
  }
}

/**
 * Runs `komrade [--home <home>] ...args` with the test passphrase and the light KDF, and without
 * any Tor settings of the machine running the tests.
 */
export function runKomrade(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const env = Object.fromEntries(
      Object.entries<string | undefined>({
        ...process.env,
        KOMRADE_PASSPHRASE: TEST_PASSPHRASE,
        KOMRADE_KDF: 'interactive',
        KOMRADE_TOR_SOCKS: undefined,
        KOMRADE_TOR_EXTRA_TORRC: undefined,
        ...options.env,
      }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const home = options.home === undefined ? [] : ['--home', options.home];
    const started = Date.now();
    const child = spawn(process.execPath, [KOMRADE_CLI, ...home, ...args], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolveRun({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** {@link runKomrade}, expected to succeed without showing the test passphrase. */
export async function runKomradeOk(
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  const run = await runKomrade(args, options);
  expect(run.stderr).not.toContain(TEST_PASSPHRASE);
  expect(run.code, `komrade ${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  return run;
}

/** `komrade init` in `home` against the Operator at `operatorUrl`, then `komrade register name`. */
export async function initAndRegister(
  home: string,
  name: string,
  operatorUrl: string,
): Promise<void> {
  await runKomradeOk(['init', '--operator', operatorUrl], { home });
  await runKomradeOk(['register', name], { home });
}
