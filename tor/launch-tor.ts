/** Running a private tor process (or attaching to an existing one) and waiting for it to bootstrap. */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { silentLogger, type Logger } from '../common/logging/index.js';
import { parseBootstrapPhase, type BootstrapProgress } from './bootstrap-phase.js';
import { BootstrapStallWatch, type BootstrapStall } from './bootstrap-stall.js';
import { TorControl, type ControlTarget } from './tor-control.js';
import { TorError } from './tor-error.js';
import { renderTorrc, torrcQuote } from './torrc.js';

/** Options for {@link launchTor}. */
export interface LaunchTorOptions {
  /** The tor binary. @defaultValue `'tor'` (looked up on PATH) */
  readonly torPath?: string;
  /**
   * Tor's DataDirectory (created 0700). Keep it across runs so tor starts faster and keeps its
   * guards. @defaultValue a fresh temporary folder, deleted by `stop()`
   */
  readonly dataDir?: string;
  /**
   * The SOCKS port: `'auto'` for any free loopback port, a number, or `false` for a service-only
   * tor (`SocksPort 0`). @defaultValue `'auto'`
   */
  readonly socksPort?: number | 'auto' | false;
  /** More torrc lines, e.g. a private network's `DirAuthority` lines. */
  readonly extraTorrcLines?: readonly string[];
  /** Called each time the bootstrap percentage rises, last with 100. */
  readonly onProgress?: (progress: BootstrapProgress) => void;
  /**
   * Called while bootstrap has not moved for `stallMs`, at most once per `stallMs`, with the last
   * phase (see `describeBootstrapStall`).
   */
  readonly onStall?: (stall: BootstrapStall) => void;
  /** @defaultValue 30000 */
  readonly stallMs?: number;
  /** Wait until bootstrap reaches 100%. @defaultValue true */
  readonly waitForBootstrap?: boolean;
  /** @defaultValue 300000 */
  readonly bootstrapTimeoutMs?: number;
  /** How long tor may take to open its control port. @defaultValue 30000 */
  readonly startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. @defaultValue 5000 */
  readonly stopTimeoutMs?: number;
  /** Receives tor's own log lines at debug level. @defaultValue {@link silentLogger} */
  readonly logger?: Logger;
}

/** How a tor process ended. */
export interface TorExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A tor process this program launched. */
export interface TorProcess {
  /** An authenticated controller that owns the process: closing it makes tor exit. */
  readonly control: TorControl;
  /** The SOCKS port, unless launched with `socksPort: false`. */
  readonly socksPort?: number;
  readonly pid: number;
  readonly dataDir: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<TorExit>;
  /** Stops tor (SIGTERM, then SIGKILL after the timeout) and removes a temporary data dir. */
  stop(): Promise<void>;
}

/** Options for {@link attachTor}. */
export interface AttachTorOptions {
  /** The existing tor's control port (`{ port }`) or control socket (`{ path }`). */
  readonly control: ControlTarget;
  /** The cookie file; by default the one the control port names. */
  readonly cookiePath?: string;
  /** The SOCKS port to use; by default the first one tor reports listening on. */
  readonly socksPort?: number;
  readonly logger?: Logger;
}

/** A tor this program did not launch: stopping means closing the control connection only. */
export interface AttachedTor {
  readonly control: TorControl;
  readonly socksPort?: number;
  close(): Promise<void>;
}

const INSTALL_HINT =
  'install Tor (Debian/Ubuntu: `apt-get install tor`; macOS: `brew install tor`) or set the tor binary path';

/**
 * Launches tor with a private data directory, a loopback control port with cookie auth, and an
 * optional SOCKS port with per-credentials circuit isolation; tor exits when this process does.
 * Waits for the control port, authenticates, and reports bootstrap progress until 100%.
 *
 * @throws TOR_UNAVAILABLE when the binary is missing (the message says how to install it), when
 * tor exits early, or when bootstrap times out (transient).
 * @example
 * ```ts
 * const tor = await launchTor({ onProgress: (p) => ui.show(`Tor ${p.percent}%: ${p.summary}`) });
 * const dispatcher = createTorDispatcher({ socksPort: tor.socksPort!, isolationKey: id });
 * ```
 */
export async function launchTor(options: LaunchTorOptions = {}): Promise<TorProcess> {
  const logger = options.logger ?? silentLogger;
  const torPath = options.torPath ?? 'tor';
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'komrade-tor-')));
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Tor refuses a DataDirectory others can read; an existing folder may have looser bits.
  await chmod(dataDir, 0o700);

  const socks = options.socksPort ?? 'auto';
  const portFile = join(dataDir, 'control-port');
  const cookiePath = join(dataDir, 'control_auth_cookie');
  await rm(portFile, { force: true });
  const torrcPath = join(dataDir, 'torrc');
  const defaultsPath = join(dataDir, 'torrc-defaults');
  await writeFile(
    torrcPath,
    renderTorrc([
      `DataDirectory ${torrcQuote(dataDir)}`,
      'ControlPort auto',
      `ControlPortWriteToFile ${torrcQuote(portFile)}`,
      'CookieAuthentication 1',
      `CookieAuthFile ${torrcQuote(cookiePath)}`,
      socks === false
        ? 'SocksPort 0'
        : `SocksPort 127.0.0.1:${socks === 'auto' ? 'auto' : String(socks)} IsolateSOCKSAuth ExtendedErrors`,
      `__OwningControllerProcess ${process.pid}`,
      'Log notice stdout',
      ...(options.extraTorrcLines ?? []),
    ]),
    { mode: 0o600 },
  );
  // An empty defaults file, so a system-wide torrc-defaults cannot change our setup.
  await writeFile(defaultsPath, '', { mode: 0o600 });

  const cleanupDir = async (): Promise<void> => {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  let child: ChildProcess;
  try {
    child = await spawnTor(torPath, ['-f', torrcPath, '--defaults-torrc', defaultsPath]);
  } catch (error) {
    await cleanupDir();
    throw error;
  }
  const pid = child.pid ?? -1;
  const recent: string[] = [];
  const exited = new Promise<TorExit>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      recent.push(line);
      if (recent.length > 30) recent.shift();
      // Tor's notice log holds no secrets, but it is noise: debug level only.
      logger.debug('tor.log', { pid, line });
    });
  }

  let control: TorControl | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await control?.close();
      await terminate(child, exited, options.stopTimeoutMs ?? 5_000);
      await cleanupDir();
    })();
    return stopping;
  };

  try {
    const port = await waitForPortFile(portFile, exited, options.startTimeoutMs ?? 30_000, recent);
    control = await TorControl.connect({ port }, { cookiePath, logger });
    await control.takeOwnership();
    if (options.waitForBootstrap !== false) {
      await waitForBootstrap(
        control,
        exited,
        options.bootstrapTimeoutMs ?? 300_000,
        options.onProgress,
        recent,
        options.onStall === undefined
          ? undefined
          : { onStall: options.onStall, stallMs: options.stallMs ?? 30_000 },
      );
    }
    let socksPort: number | undefined;
    if (socks !== false) {
      socksPort = (await control.socksListeners())[0]?.port;
      if (socksPort === undefined) {
        throw new TorError('tor started without a SOCKS listener', { transient: false });
      }
    }
    logger.info('tor.started', { pid });
    const handle = { control, pid, dataDir, exited, stop };
    return socksPort === undefined ? handle : { ...handle, socksPort };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Uses a tor that is already running (the system tor, Tor Browser's): connects and authenticates
 * to its control port and finds its SOCKS port.
 *
 * @throws TOR_UNAVAILABLE when the control port is unreachable or refuses authentication.
 */
export async function attachTor(options: AttachTorOptions): Promise<AttachedTor> {
  const control = await TorControl.connect(options.control, {
    ...(options.cookiePath === undefined ? {} : { cookiePath: options.cookiePath }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  try {
    const socksPort = options.socksPort ?? (await control.socksListeners())[0]?.port;
    const close = (): Promise<void> => control.close();
    return socksPort === undefined ? { control, close } : { control, socksPort, close };
  } catch (error) {
    await control.close();
    throw error;
  }
}

/** Spawns tor and waits until the OS has started it, turning ENOENT into an install hint. */
function spawnTor(torPath: string, args: readonly string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(torPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.once('spawn', () => {
      resolve(child);
    });
    child.once('error', (cause: NodeJS.ErrnoException) => {
      const missing = cause.code === 'ENOENT' || cause.code === 'EACCES';
      reject(
        new TorError(
          missing
            ? `the tor binary was not found or is not executable ("${torPath}"): ${INSTALL_HINT}`
            : 'could not start tor',
          { transient: false, cause },
        ),
      );
    });
  });
}

async function waitForPortFile(
  path: string,
  exited: Promise<TorExit>,
  timeoutMs: number,
  recent: readonly string[],
): Promise<number> {
  let exit: TorExit | undefined;
  void exited.then((e) => {
    exit = e;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const match = /PORT=[^:\s]+:(\d+)/.exec(text);
    if (match !== null) return Number(match[1]);
    if (exit !== undefined) {
      throw new TorError(
        `tor exited (code ${String(exit.code)}) before opening its control port${lastProblem(recent)}`,
        {
          transient: false,
        },
      );
    }
    if (Date.now() > deadline) {
      throw new TorError('tor did not open its control port in time', { transient: true });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForBootstrap(
  control: TorControl,
  exited: Promise<TorExit>,
  timeoutMs: number,
  onProgress: ((progress: BootstrapProgress) => void) | undefined,
  recent: readonly string[],
  stalls: { onStall: (stall: BootstrapStall) => void; stallMs: number } | undefined,
): Promise<void> {
  let last: BootstrapProgress | undefined;
  const watch =
    stalls === undefined ? undefined : new BootstrapStallWatch({ stallMs: stalls.stallMs });
  // Polling is cheap, and a check at most a second late is still "once per interval".
  const poll =
    stalls === undefined || watch === undefined
      ? undefined
      : setInterval(
          () => {
            const stall = watch.check();
            if (stall !== undefined) stalls.onStall(stall);
          },
          Math.min(1_000, stalls.stallMs),
        );
  poll?.unref();
  let finish: (() => void) | undefined;
  let fail: ((error: TorError) => void) | undefined;
  // One promise settled by whichever comes first: 100%, tor exiting, or the timeout.
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // Marked handled here; `await done` below still throws.
  done.catch(() => undefined);
  const report = (progress: BootstrapProgress): void => {
    watch?.observe(progress);
    if (last !== undefined && progress.percent <= last.percent) return;
    last = progress;
    onProgress?.(progress);
    if (progress.percent >= 100) finish?.();
  };
  void exited.then((exit) => {
    fail?.(
      new TorError(
        `tor exited (code ${String(exit.code)}) while bootstrapping${lastProblem(recent)}`,
        { transient: false },
      ),
    );
  });
  const timer = setTimeout(() => {
    const where = last === undefined ? '' : ` (stuck at ${last.percent}%: ${last.summary})`;
    fail?.(new TorError(`tor did not finish bootstrapping in time${where}`, { transient: true }));
  }, timeoutMs);
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    // Subscribe before asking, so no phase falls between the answer and the first event.
    unsubscribe = await control.subscribe(['STATUS_CLIENT'], (event) => {
      const progress = parseBootstrapPhase(event.body);
      if (progress !== undefined) report(progress);
    });
    report(await control.bootstrapPhase());
    await done;
    await unsubscribe();
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
  }
}

async function terminate(
  child: ChildProcess,
  exited: Promise<TorExit>,
  timeoutMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
  });
  await Promise.race([exited, killed]);
  clearTimeout(timer);
  await exited;
}

/** The last warnings and errors tor logged (at most three), to say why it stopped. */
function lastProblem(recent: readonly string[]): string {
  const problems = recent
    .filter((l) => /\[(err|warn)\]/.test(l) && !l.includes('running Tor as root'))
    .slice(-3)
    .map((l) => l.replace(/^.*?\[(err|warn)\]\s*/, ''));
  return problems.length === 0 ? '' : `: ${problems.join(' / ')}`;
}
