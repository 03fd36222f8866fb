/**
 * The processes the chaos test kills, pauses and restarts: the Operator, Redis and the Telegram
 * bot, each a real process on the same data (and port) across restarts. Like a supervisor
 * (systemd's `Restart=always`), a process that exits by itself is started again a second later.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';
import type { RedisServer } from './redis-server.js';
import type { ChaosTimeline } from './chaos-timeline.js';

/** One running incarnation of a process. */
interface Incarnation {
  /** Absent for a process the harness cannot signal directly (Redis: killed through its handle). */
  readonly pid?: number;
  /** Resolves once it exited (for processes the supervisor watches). */
  readonly exited?: Promise<unknown>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  /** A graceful stop for the end of the test (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

type State = 'down' | 'starting' | 'up' | 'paused';

/** A supervised process: started, SIGKILLed, SIGSTOPped and SIGCONTed on the chaos test's orders. */
export class ChaosProcess {
  readonly name: string;
  readonly #spawn: () => Promise<Incarnation>;
  readonly #timeline: ChaosTimeline;
  #current: Incarnation | undefined;
  #state: State = 'down';
  #closed = false;
  /** Exits nobody asked for (a crash, a startup failure), each answered by a restart. */
  unexpectedExits = 0;
  /** When each SIGKILL was sent, in ms since the run started. */
  readonly kills: number[] = [];

  constructor(name: string, spawnIt: () => Promise<Incarnation>, timeline: ChaosTimeline) {
    this.name = name;
    this.#spawn = spawnIt;
    this.#timeline = timeline;
  }

  // A method, not the field: the compiler would keep its narrowing across the awaits above.
  #isClosed(): boolean {
    return this.#closed;
  }

  get state(): State {
    return this.#state;
  }

  get canPause(): boolean {
    return this.#current?.pid !== undefined;
  }

  /** Starts it, trying again every second until it runs (or the test is over). */
  async start(): Promise<void> {
    if (this.#state !== 'down') return;
    this.#state = 'starting';
    const began = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) return;
      try {
        const incarnation = await this.#spawn();
        if (this.#isClosed()) {
          // The test ended while it was starting: nothing may outlive it.
          await incarnation.stop();
          return;
        }
        this.#current = incarnation;
        this.#state = 'up';
        const took = `${((Date.now() - began) / 1000).toFixed(1)} s`;
        this.#timeline.note(
          `${this.name} up after ${took}${attempt > 1 ? `, ${attempt} tries` : ''}`,
        );
        void incarnation.exited?.then(() => {
          this.#exited(incarnation);
        });
        return;
      } catch (error) {
        this.#timeline.note(`${this.name} failed to start: ${firstLine(error)}`);
        await sleep(1_000);
      }
    }
  }

  #exited(incarnation: Incarnation): void {
    if (this.#current !== incarnation || this.#closed) return;
    if (this.#state !== 'up' && this.#state !== 'paused') return;
    this.unexpectedExits++;
    this.#current = undefined;
    this.#state = 'down';
    this.#timeline.note(`${this.name} exited by itself; the supervisor restarts it in 1 s`);
    void sleep(1_000).then(() => this.start());
  }

  /** SIGKILL (a crash: nothing gets to flush), then wait for the exit. */
  async kill(): Promise<void> {
    const current = this.#current;
    if (current === undefined || (this.#state !== 'up' && this.#state !== 'paused')) return;
    this.#state = 'down';
    this.#current = undefined;
    this.#timeline.note(`${this.name} SIGKILL`);
    this.kills.push(this.#timeline.now());
    await current.kill();
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  pause(): void {
    const pid = this.#current?.pid;
    if (pid === undefined || this.#state !== 'up') return;
    process.kill(pid, 'SIGSTOP');
    this.#state = 'paused';
    this.#timeline.note(`${this.name} SIGSTOP`);
  }

  /** SIGCONT after {@link ChaosProcess.pause}. */
  resume(): void {
    const pid = this.#current?.pid;
    if (pid === undefined || this.#state !== 'paused') return;
    process.kill(pid, 'SIGCONT');
    this.#state = 'up';
    this.#timeline.note(`${this.name} SIGCONT`);
  }

  /** Resumes it if paused and starts it if down: what "everything restarted cleanly" means. */
  async ensureUp(): Promise<void> {
    if (this.#state === 'paused') this.resume();
    if (this.#state === 'down') await this.start();
    while (this.#state === 'starting') await sleep(100);
  }

  /** A clean restart: a graceful stop, then a start on the same data. */
  async restart(): Promise<void> {
    await this.ensureUp();
    const current = this.#current;
    this.#state = 'down';
    this.#current = undefined;
    this.#timeline.note(`${this.name} clean restart`);
    await current?.stop();
    await this.start();
  }

  /** Stops it for good (SIGCONT first, so a paused process can hear SIGTERM). */
  async close(): Promise<void> {
    this.#closed = true;
    const current = this.#current;
    this.#current = undefined;
    if (current?.pid !== undefined && this.#state === 'paused') {
      try {
        process.kill(current.pid, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    this.#state = 'down';
    await current?.stop();
  }
}

const sleep = (ms: number) =>
  new Promise<void>((r) => {
    setTimeout(r, ms);
  });

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 200) ?? '';

/** The Operator on a fixed port and data folder, so the bot and the CLI users find it again. */
export function operatorProcess(
  options: { readonly port: number; readonly dataDir: string },
  timeline: ChaosTimeline,
): ChaosProcess {
  return new ChaosProcess(
    'operator',
    async () => {
      const handle: OperatorProcess = await startOperatorProcess({
        powBits: 8,
        dataDir: options.dataDir,
        config: { http: { port: options.port } },
      });
      return {
        pid: handle.pid,
        exited: handle.exited,
        kill: async () => {
          await handle.kill();
          await handle.cleanup();
        },
        stop: () => withGrace(handle.pid, handle.cleanup(), handle.exited),
      };
    },
    timeline,
  );
}

/** Redis through its harness handle: a restart comes back empty when persistence is off. */
export function redisProcess(server: RedisServer, timeline: ChaosTimeline): ChaosProcess {
  let first = true;
  return new ChaosProcess(
    'redis',
    async () => {
      // The harness started the first one already.
      if (!first) await server.start();
      first = false;
      return { kill: () => server.kill(), stop: () => server.stop() };
    },
    timeline,
  );
}

/** What the bot process needs to find the emulator, the Operator and Redis. */
export interface ChaosBotOptions {
  readonly apiRoot: string;
  readonly token: string;
  readonly operatorUrl: string;
  readonly redisPort: number;
  readonly dataDir: string;
  /** Where its config file and logs go. */
  readonly workDir: string;
  readonly masterKey: string;
  readonly pollIntervalSeconds: number;
}

const BOT_MAIN = join(import.meta.dirname, '..', '..', 'dist', 'adapters', 'telegram', 'main.js');
const READY = 'komrade-telegram running';

/** Throws a clear error when the bot has not been built. */
export function assertBotBuilt(): void {
  if (!existsSync(BOT_MAIN))
    throw new Error(`${BOT_MAIN} is missing: run \`npm run build\` first.`);
}

/** The bot's stderr (its JSON logs), kept to the last `max` characters for a failure story. */
export class LogTail {
  #text = '';
  constructor(readonly max = 200_000) {}
  add(chunk: string): void {
    this.#text = (this.#text + chunk).slice(-this.max);
  }
  lines(pattern?: RegExp): string[] {
    const all = this.#text.split('\n').filter((l) => l.length > 0);
    return pattern === undefined ? all : all.filter((l) => pattern.test(l));
  }
}

/** The real `komrade-telegram` process (dist/adapters/telegram/main.js), in its own process group. */
export function botProcess(
  options: ChaosBotOptions,
  timeline: ChaosTimeline,
  logs: LogTail,
): ChaosProcess {
  let run = 0;
  return new ChaosProcess(
    'bot',
    async () => {
      run++;
      const file = join(options.workDir, 'telegram.yaml');
      await writeFile(
        file,
        stringify({
          telegram: { apiRoot: options.apiRoot, throttle: false },
          operator: { url: options.operatorUrl },
          redis: { host: '127.0.0.1', port: options.redisPort, queuePrefix: 'komrade-chaos' },
          store: { dataDir: options.dataDir },
          mail: { pollIntervalSeconds: options.pollIntervalSeconds },
          log: { level: 'info' },
        }),
        { mode: 0o600 },
      );
      const child = spawn(process.execPath, [BOT_MAIN, '--config', file], {
        env: botEnv(options),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      return started(child, `bot run ${run}`, logs);
    },
    timeline,
  );
}

/** The parent's environment with the bot's secrets, and no Redis password (ours has none). */
function botEnv(options: ChaosBotOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KOMRADE_TELEGRAM_TOKEN: options.token,
    KOMRADE_TELEGRAM_MASTER_KEY: options.masterKey,
  };
  delete env.KOMRADE_REDIS_PASSWORD;
  return env;
}

/** Waits for the bot's ready line; the incarnation signals its whole process group. */
async function started(child: ChildProcess, label: string, logs: LogTail): Promise<Incarnation> {
  const pid = child.pid;
  if (pid === undefined) throw new Error('the bot did not spawn');
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // gone already
    }
  };
  const reap = () => {
    group('SIGCONT');
    group('SIGKILL');
  };
  process.once('exit', reap);
  const exited = new Promise<number | null>((r) => {
    child.once('exit', (code) => {
      process.removeListener('exit', reap);
      r(code);
    });
  });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    logs.add(c.replace(/^(?=.)/gm, `[${label}] `));
  });
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      group('SIGKILL');
      reject(new Error(`${label} did not print its ready line within 30 s`));
    }, 30_000);
    child.stdout?.on('data', () => {
      if (stdout.includes(READY)) {
        clearTimeout(timer);
        resolveReady();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with code ${String(code)} before it ran`));
    });
  });
  return {
    pid,
    exited,
    kill: async () => {
      group('SIGKILL');
      await exited;
    },
    stop: () => {
      group('SIGCONT');
      group('SIGTERM');
      return withGrace(-pid, exited, exited);
    },
  };
}

/** Waits for `stopping`; SIGKILLs `pid` (a group when negative) if it takes over 8 s. */
async function withGrace(pid: number, stopping: Promise<unknown>, exited: Promise<unknown>) {
  const timer = setTimeout(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }, 8_000);
  try {
    await stopping;
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
