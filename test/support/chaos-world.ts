/**
 * Everything a chaos run needs, started together: Redis without persistence, the Operator on a
 * fixed port and data folder, the Bot API emulator, the real bot process, Telegram users and CLI
 * users; letters between them are counted by the ledger. `close()` stops every process and removes
 * every folder, whatever state the run left them in.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosLedger, type ChaosLetter, type Direction } from './chaos-ledger.js';
import { tagsIn } from './chaos-ledger.js';
import type { ChaosProcess } from './chaos-processes.js';
import {
  assertBotBuilt,
  botProcess,
  LogTail,
  operatorProcess,
  redisProcess,
} from './chaos-processes.js';
import type { ChaosRandom } from './chaos-random.js';
import { ChaosTimeline } from './chaos-timeline.js';
import { CliChaosUser, TelegramChaosUser } from './chaos-users.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { TelegramEmulator } from './telegram-emulator.js';

/** The processes a fault can hit. */
export type Target = 'bot' | 'operator' | 'redis';

const TELEGRAM_NAMES = ['ann', 'ben', 'cleo'] as const;
const CLI_NAMES = ['dan', 'eve', 'fay'] as const;

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolvePort(port);
      });
    });
  });
}

const sleep = (ms: number) =>
  new Promise<void>((r) => {
    setTimeout(r, ms);
  });

/** A `/send` the bot is to be SIGKILLed after, `delayMs` after getUpdates hands it out. */
interface KillTrigger {
  readonly tag: string;
  readonly delayMs: number;
  readonly fired: () => void;
}

export class ChaosWorld {
  readonly timeline = new ChaosTimeline();
  readonly ledger: ChaosLedger;
  readonly emulator = new TelegramEmulator();
  readonly botLogs = new LogTail();
  readonly processes = new Map<Target, ChaosProcess>();
  readonly telegramUsers: TelegramChaosUser[] = [];
  readonly cliUsers: CliChaosUser[] = [];
  readonly #random: ChaosRandom;
  readonly #sending = new Set<Promise<void>>();
  #root = '';
  #redis: RedisServer | undefined;
  #trigger: KillTrigger | undefined;
  #monitor: NodeJS.Timeout | undefined;
  #watchers: Promise<void>[] = [];
  /** Letters counted by {@link ChaosWorld.observe} stop changing the books once frozen. */
  #frozen = false;

  constructor(seed: number, random: ChaosRandom) {
    this.ledger = new ChaosLedger(seed, this.timeline);
    this.#random = random;
  }

  process(target: Target): ChaosProcess {
    const found = this.processes.get(target);
    if (found === undefined) throw new Error(`no ${target} process`);
    return found;
  }

  /** Starts the processes and registers the users (3 on Telegram, 3 on the CLI). */
  async start(): Promise<void> {
    assertBotBuilt();
    this.#root = await mkdtemp(join(tmpdir(), 'komrade-chaos-'));
    const dirs = {
      operator: join(this.#root, 'operator'),
      bot: join(this.#root, 'bot'),
      botWork: join(this.#root, 'bot-work'),
      cli: join(this.#root, 'cli'),
    };
    await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true })));
    this.#redis = await startRedisServer({ persistence: false });
    const operatorPort = await freePort();
    const operatorUrl = `http://127.0.0.1:${operatorPort}`;
    this.processes.set('redis', redisProcess(this.#redis, this.timeline));
    this.processes.set(
      'operator',
      operatorProcess({ port: operatorPort, dataDir: dirs.operator }, this.timeline),
    );
    await this.emulator.start();
    this.emulator.onHandOut = (updates) => {
      for (const update of updates) {
        const text = (update.message as { text?: unknown } | undefined)?.text;
        if (typeof text !== 'string') continue;
        for (const tag of tagsIn(text)) {
          this.ledger.handedOut(tag);
          const trigger = this.#trigger;
          if (trigger?.tag === tag) {
            this.#trigger = undefined;
            this.timeline.note(`getUpdates hands out the /send of ${tag}`);
            setTimeout(trigger.fired, trigger.delayMs);
          }
        }
      }
    };
    this.processes.set(
      'bot',
      botProcess(
        {
          apiRoot: this.emulator.apiRoot,
          token: this.emulator.token,
          operatorUrl,
          redisPort: this.#redis.port,
          dataDir: dirs.bot,
          workDir: dirs.botWork,
          masterKey: randomBytes(32).toString('hex'),
          pollIntervalSeconds: 1,
        },
        this.timeline,
        this.botLogs,
      ),
    );
    await this.process('redis').start();
    await this.process('operator').start();
    await this.process('bot').start();

    let nextId = 6_300_000_000 + Math.floor(Math.random() * 90_000_000);
    for (const name of TELEGRAM_NAMES) {
      nextId++;
      const user = { id: nextId, first_name: name };
      this.telegramUsers.push(new TelegramChaosUser(name, user, this.emulator));
    }
    for (const name of CLI_NAMES) {
      this.cliUsers.push(new CliChaosUser(name, dirs.cli, operatorUrl));
    }
    await Promise.all([
      ...this.telegramUsers.map((u) => u.register()),
      ...this.cliUsers.map((u) => u.client.register(u.name)),
    ]);
    this.#watchers = this.cliUsers.map((u) => u.watch(400));
    this.#monitor = setInterval(() => {
      this.observe();
    }, 200);
  }

  /** Every chaos letter's copies at its recipient right now. */
  copies(): Map<string, number[]> {
    const copies = new Map<string, number[]>();
    // A copy only counts where it was addressed.
    const at = new Map<string, number[]>();
    for (const u of this.telegramUsers) {
      at.clear();
      u.copies(at);
      this.#keep(copies, at, u.name);
    }
    for (const u of this.cliUsers) {
      at.clear();
      u.copies(at);
      this.#keep(copies, at, u.name);
    }
    return copies;
  }

  #keep(copies: Map<string, number[]>, at: ReadonlyMap<string, number[]>, name: string): void {
    for (const [tag, times] of at) {
      if (this.ledger.letters.get(tag)?.to === name) copies.set(tag, times);
    }
  }

  observe(): void {
    if (!this.#frozen) this.ledger.observe(this.copies());
  }

  /** Ends the books: what appears from now on is only used to tell stuck letters from lost ones. */
  freeze(): void {
    this.observe();
    this.#frozen = true;
  }

  /** Sends one letter in `direction` between random users; CLI sends retry in the background. */
  send(direction: Direction): ChaosLetter {
    const tg = this.#random.pick(this.telegramUsers);
    const cli = this.#random.pick(this.cliUsers);
    if (direction === 'telegram→cli') {
      const letter = this.ledger.add(direction, tg.name, cli.name);
      tg.send(letter);
      return letter;
    }
    const letter = this.ledger.add(direction, cli.name, tg.name);
    const sending = cli.send(letter, () => this.timeline.now());
    this.#sending.add(sending);
    void sending.finally(() => this.#sending.delete(sending));
    return letter;
  }

  /**
   * Sends a Telegram letter and SIGKILLs the bot `delayMs` after getUpdates hands its `/send` to
   * the bot (the moment the duplicates came from). Resolves once it was killed, or after
   * `timeoutMs` without a hand-out (the bot busy elsewhere): then nothing is killed.
   */
  async killBotAfterSend(delayMs: number, timeoutMs = 15_000): Promise<boolean> {
    const letter = this.send('telegram→cli');
    this.timeline.note(`armed: SIGKILL the bot ${delayMs} ms after handing out ${letter.tag}`);
    let fired: () => void = () => undefined;
    const firedPromise = new Promise<void>((r) => {
      fired = r;
    });
    this.#trigger = { tag: letter.tag, delayMs, fired };
    const timedOut = await Promise.race([
      firedPromise.then(() => false),
      sleep(timeoutMs).then(() => true),
    ]);
    if (timedOut) {
      this.#trigger = undefined;
      this.timeline.note(`disarmed: ${letter.tag} was not handed out in ${timeoutMs} ms`);
      return false;
    }
    await this.process('bot').kill();
    return true;
  }

  /** CLI sends still retrying. */
  get sendsInFlight(): number {
    return this.#sending.size;
  }

  /** Per Telegram user, how many answers said a `/send` failed. */
  told(): Map<string, number> {
    return new Map(this.telegramUsers.map((u) => [u.name, u.answers().other.length]));
  }

  /** Resumes paused processes and starts stopped ones. */
  async ensureUp(): Promise<void> {
    for (const target of ['redis', 'operator', 'bot'] as const) {
      await this.process(target).ensureUp();
    }
  }

  async close(): Promise<void> {
    if (this.#monitor !== undefined) clearInterval(this.#monitor);
    this.#trigger = undefined;
    for (const u of this.cliUsers) u.halt();
    // Stopping the bot first keeps it from logging the others going away.
    await this.processes.get('bot')?.close();
    await Promise.allSettled([
      this.processes.get('operator')?.close(),
      this.processes.get('redis')?.close(),
    ]);
    await Promise.allSettled([...this.#watchers, ...this.#sending]);
    await Promise.allSettled(this.cliUsers.map((u) => u.close()));
    await this.emulator.close().catch(() => undefined);
    await this.#redis?.cleanup().catch(() => undefined);
    if (this.#root !== '') await rm(this.#root, { recursive: true, force: true });
  }
}
