/**
 * Starts the built Operator (`dist/operator/main.js`) as a child process on a free port with a
 * temporary config and data folder: the harness for end-to-end tests and benchmarks.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/** Options for {@link startOperatorProcess}. */
export interface OperatorProcessOptions {
  /** Registration proof-of-work difficulty. @defaultValue 8 (fast for tests) */
  readonly powBits?: number;
  /** Extra config, deep-merged over the harness defaults (e.g. `{ mail: { expireDays: 1 } }`). */
  readonly config?: Record<string, unknown>;
  /** Data folder to use; a fresh temp folder when absent. Pass the same one to restart. */
  readonly dataDir?: string;
  /** Extra environment variables for the child (e.g. `KOMRADE_OPERATOR_PASSPHRASE`). */
  readonly env?: Record<string, string>;
  /** Extra Node options before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  readonly nodeArgs?: readonly string[];
  /**
   * Publish the Operator as an onion service through its own tor, with these torrc lines (a
   * private network's `network.torrcLinesForClient()`). Without it the harness passes
   * `--insecure-no-tor`: loopback HTTP only.
   */
  readonly tor?: { readonly extraTorrcLines: readonly string[] };
  /**
   * How long to wait for the "listening on" line, and with `tor` for the onion line.
   * @defaultValue 20000, or 90000 with `tor`
   */
  readonly timeoutMs?: number;
}

/** A running Operator child process. */
export interface OperatorProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234` (routes start with `/v1`). */
  readonly url: string;
  /** With the `tor` option: the printed onion URL, `http://<56 characters>.onion`. */
  readonly onion?: string;
  readonly dataDir: string;
  readonly pid: number;
  /** Resolves with the exit code (`null` when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Everything the child wrote to stderr so far (its JSON logs and warnings). */
  stderr(): string;
  /** Everything the child wrote to stdout so far (its human lines: listening, bootstrap, onion). */
  stdout(): string;
  /** SIGTERM, then wait for exit (graceful: in-flight requests finish, the store commits). */
  stop(): Promise<void>;
  /** SIGKILL, then wait for exit (a crash: nothing gets a chance to flush). */
  kill(): Promise<void>;
  /** Stops the process if still running and removes the temp folders the harness created. */
  cleanup(): Promise<void>;
  /**
   * SIGTERM, wait for exit, then start again with the same options on the same data folder (the
   * temp folders move to the new handle, whose `cleanup()` removes them).
   */
  restart(): Promise<OperatorProcess>;
}

/** The project root: the nearest folder with a package.json (this file also runs from dist/). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error('cannot find the project root');
  }
}

const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
const MAIN = join(ROOT, 'dist', 'operator', 'main.js');
const LISTENING = /Komrade Operator listening on (http:\/\/\S+)/;
const ONION = /Komrade Operator onion: (http:\/\/[a-z2-7]{56}\.onion(?::\d+)?)\n/;
const INSECURE_FLAG = '--insecure-no-tor';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isRecord(current) && isRecord(value) ? deepMerge(current, value) : value;
  }
  return out;
}

const tail = (text: string, lines = 20) => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Spawns the Operator and resolves once it listens (with `tor`: once it printed its onion).
 * @throws Error when dist is not built, the process exits early, or it does not listen in time
 * @example
 * ```ts
 * const operator = await startOperatorProcess({ powBits: 8 });
 * const info = await fetch(`${operator.url}/v1/operator`);
 * await operator.cleanup();
 * ```
 */
export async function startOperatorProcess(
  options: OperatorProcessOptions = {},
): Promise<OperatorProcess> {
  return spawnOperator(options, []);
}

async function spawnOperator(
  options: OperatorProcessOptions,
  inheritedTempDirs: readonly string[],
): Promise<OperatorProcess> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run \`npm run build\` before starting the Operator.`);
  }
  const tempDirs: string[] = [...inheritedTempDirs];
  const configDir = await mkdtemp(join(tmpdir(), 'komrade-operator-config-'));
  tempDirs.push(configDir);
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    dataDir = await mkdtemp(join(tmpdir(), 'komrade-operator-data-'));
    tempDirs.push(dataDir);
  }
  const base: Record<string, unknown> = {
    http: { host: '127.0.0.1', port: 0 },
    store: { dataDir },
    registration: { powBits: options.powBits ?? 8 },
    log: { level: 'warn' },
    ...(options.tor === undefined
      ? {}
      : {
          tor: { extraTorrcLines: [...options.tor.extraTorrcLines], bootstrapTimeoutSeconds: 60 },
        }),
  };
  const config = deepMerge(base, options.config ?? {});
  const configFile = join(configDir, 'operator.yaml');
  await writeFile(configFile, stringify(config), { mode: 0o600 });

  const args = [
    ...(options.nodeArgs ?? []),
    MAIN,
    '--config',
    configFile,
    ...(options.tor === undefined ? [INSECURE_FLAG] : []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const exited = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code) => {
      resolveExit(code);
    });
  });
  // Never leave an Operator behind when the test process ends.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => process.removeListener('exit', reap));

  const withTor = options.tor !== undefined;
  const timeoutMs = options.timeoutMs ?? (withTor ? 90_000 : 20_000);
  const waitingFor = withTor ? 'its onion address' : 'its listening line';
  const ready = await new Promise<{ url: string; onion?: string }>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `Operator did not print ${waitingFor} within ${timeoutMs} ms. stdout:\n${tail(stdout, 5)}\nstderr:\n${tail(stderr)}`,
        ),
      );
    }, timeoutMs);
    const check = (): void => {
      const url = LISTENING.exec(stdout)?.[1];
      if (url === undefined) return;
      if (!withTor) {
        clearTimeout(timer);
        resolveReady({ url });
        return;
      }
      const onion = ONION.exec(stdout)?.[1];
      if (onion === undefined) return;
      clearTimeout(timer);
      resolveReady({ url, onion });
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      const stage = LISTENING.test(stdout) && withTor ? 'printing its onion address' : 'listening';
      reject(
        new Error(
          `Operator exited with code ${String(code)} before ${stage}. stderr:\n${tail(stderr)}`,
        ),
      );
    });
  }).catch(async (error: unknown) => {
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    throw error;
  });

  const signalAndWait = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const pid = child.pid;
  if (pid === undefined) throw new Error('Operator process has no pid');
  const restartWith: OperatorProcessOptions = { ...options, dataDir };
  // After restart() the new handle owns the temp folders; this one's cleanup leaves them alone.
  let ownsTempDirs = true;
  return {
    url: ready.url,
    ...(ready.onion === undefined ? {} : { onion: ready.onion }),
    dataDir,
    pid,
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    cleanup: async () => {
      await signalAndWait('SIGTERM');
      if (!ownsTempDirs) return;
      await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
    },
    restart: async () => {
      await signalAndWait('SIGTERM');
      ownsTempDirs = false;
      // This config folder is rewritten by the new start; the data folder moves over.
      await rm(configDir, { recursive: true, force: true });
      return spawnOperator(
        restartWith,
        tempDirs.filter((dir) => dir !== configDir),
      );
    },
  };
}
