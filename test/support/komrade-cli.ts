/**
 * Runs the `komrade` command: as a child process of the built CLI, the way a person or a script
 * would, or in this process through `runCli` with the same environment (about half a second less
 * per run: no node start, no imports), for tests whose subject is what a command does.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { readEnvironment, type CliEnvironment } from '../../adapters/cli/environment.js';
import { Output } from '../../adapters/cli/output.js';
import { EXIT, runCli } from '../../adapters/cli/program.js';
import { transportOpener } from '../../adapters/cli/tor-transport.js';
import { isKomradeError } from '../../common/errors/index.js';
import { launchTor } from '../../tor/index.js';

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
  /**
   * Stops the command with SIGTERM after this long; the run then ends with what it printed so
   * far, so a test's failure shows where it hung instead of only its own timeout.
   */
  readonly timeoutMs?: number;
}

/** Throws a clear error when the CLI has not been built. */
export function assertCliBuilt(): void {
  if (!existsSync(KOMRADE_CLI)) {
    throw new Error(`${KOMRADE_CLI} is missing: run \`npm run build\` first.`);
  }
}

/**
 * The environment of a test run: this process's, with the test passphrase and the light KDF, and
 * without any Tor settings of the machine running the tests.
 */
function cliEnv(options: CliRunOptions): Record<string, string> {
  return Object.fromEntries(
    Object.entries<string | undefined>({
      ...process.env,
      KOMRADE_PASSPHRASE: TEST_PASSPHRASE,
      KOMRADE_KDF: 'interactive',
      KOMRADE_TOR_SOCKS: undefined,
      KOMRADE_TOR_EXTRA_TORRC: undefined,
      ...options.env,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** Runs `komrade [--home <home>] ...args` as a child process of the built CLI. */
export function runKomrade(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const env = cliEnv(options);
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
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            stderr += `\n[test harness: no answer in ${options.timeoutMs} ms; sent SIGTERM]\n`;
            child.kill('SIGTERM');
          }, options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The process-wide state a command must leave as it found it when run in this process. */
const WATCHED_EVENTS = [
  'exit',
  'beforeExit',
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'uncaughtException',
  'unhandledRejection',
  'warning',
] as const;

function processState(): string {
  const listeners = WATCHED_EVENTS.map((event) => `${event}=${process.listenerCount(event)}`);
  return [`exitCode=${String(process.exitCode)}`, ...listeners].join(' ');
}

/**
 * Runs `komrade [--home <home>] ...args` in this process: main.ts's composition (the same
 * environment as {@link runKomrade}, a transport that launches tor when needed) around `runCli`,
 * with stdout and stderr captured and stdin a pipe holding `input`, as for the child process.
 * Not for what only a process shows: `--version` (read from dist/), `unlock` (starts the agent
 * from dist/), signals, a terminal, `komrade telegram`. Throws when the command left process-wide
 * state behind (an exit code, listeners on `process`).
 */
export async function runKomradeInProcess(
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  const before = processState();
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  const output = new Output({
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  const fullArgs = [...(options.home === undefined ? [] : ['--home', options.home]), ...args];
  let environment: CliEnvironment | undefined;
  try {
    environment = readEnvironment(cliEnv(options));
  } catch (error) {
    // As main.ts reports a bad environment.
    output.json = fullArgs.includes('--json');
    output.error({
      code: 'USAGE',
      message: isKomradeError(error) ? error.message : 'Bad environment.',
    });
  }
  const code =
    environment === undefined
      ? EXIT.usage
      : await runCli(fullArgs, {
          environment,
          output,
          input: Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
          openTransport: transportOpener({
            output,
            launchTor,
            extraTorrcFile: environment.torExtraTorrcFile,
            now: Date.now,
          }),
          now: Date.now,
        });
  const after = processState();
  if (after !== before) {
    throw new Error(`komrade ${args.join(' ')} changed process state: ${before} -> ${after}`);
  }
  return { code, stdout, stderr, ms: Date.now() - started };
}

/** Checks that a run succeeded without showing the test passphrase. */
function expectOk(run: CliRun, args: readonly string[]): CliRun {
  expect(run.stderr).not.toContain(TEST_PASSPHRASE);
  expect(run.code, `komrade ${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  return run;
}

/** {@link runKomrade}, expected to succeed without showing the test passphrase. */
export async function runKomradeOk(
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  return expectOk(await runKomrade(args, options), args);
}

/** {@link runKomradeInProcess}, expected to succeed without showing the test passphrase. */
export async function runKomradeOkInProcess(
  args: readonly string[],
  options: CliRunOptions = {},
): Promise<CliRun> {
  return expectOk(await runKomradeInProcess(args, options), args);
}

/**
 * `komrade init` in `home` against the Operator at `operatorUrl`, then `komrade register name`
 * (in this process: setup, not the subject of a test).
 */
export async function initAndRegister(
  home: string,
  name: string,
  operatorUrl: string,
): Promise<void> {
  await runKomradeOkInProcess(['init', '--operator', operatorUrl], { home });
  await runKomradeOkInProcess(['register', name], { home });
}

/** Komrades on the command line, one home each in a temporary folder, known by name. */
export interface CliKomrades {
  /** The home folder of `who`. */
  readonly home: (who: string) => string;
  /** Runs `komrade` as `who` (in this process) and expects success; resolves to its stdout. */
  readonly run: (who: string, args: readonly string[]) => Promise<string>;
  /** `init` and `register` for each of `names` (registered as themselves). */
  readonly register: (names: readonly string[], operatorUrl: string) => Promise<void>;
  /** Removes every home. */
  readonly remove: () => void;
}

/** Options for {@link cliKomrades}. */
export interface CliKomradesOptions {
  /**
   * Run the built CLI as child processes: the key derivation of each command then never holds up
   * what else runs in this process (bots whose timing the test depends on).
   * @defaultValue false
   */
  readonly asProcesses?: boolean;
}

/** {@link CliKomrades} with their homes in a new temporary folder named from `prefix`. */
export function cliKomrades(prefix: string, options: CliKomradesOptions = {}): CliKomrades {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const home = (who: string) => join(dir, who);
  const ok = options.asProcesses === true ? runKomradeOk : runKomradeOkInProcess;
  return {
    home,
    run: async (who, args) => (await ok(args, { home: home(who) })).stdout,
    register: async (names, operatorUrl) => {
      await Promise.all(
        names.map(async (who) => {
          await ok(['init', '--operator', operatorUrl], { home: home(who) });
          await ok(['register', who], { home: home(who) });
        }),
      );
    },
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
