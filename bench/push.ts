/**
 * Push delivery: CLI → Telegram letter latency over a private Tor network (against a bare request
 * over the same network), the idle CPU of the Operator and of a bot process holding 1,000
 * identities, and the Operator with 10,000 identities waiting in groups of 1,000.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, type Dispatcher } from 'undici';
import { stringify } from 'yaml';
import { MailWatcher } from '../bridge/engine/mail-watcher.js';
import {
  HttpOperatorClient,
  KomradeClient,
  createAnonymousCircuits,
  SqliteLocalStore,
  type RequestSigner,
} from '../client/index.js';
import { generateIdentityKeys, initCrypto, randomBytes } from '../common/crypto/index.js';
import { silentLogger } from '../common/logging/index.js';
import { ROUTES, signMailWait, toBase64url, verifyMailWait } from '../common/wire/index.js';
import { createTorDispatcher, retryWithBackoff } from '../tor/index.js';
import { startOperatorProcess, type OperatorProcess } from '../test/support/operator-process.js';
import { startRedisServer, testPrefix, type RedisServer } from '../test/support/redis-server.js';
import { register, startBridge, telegramUser } from '../test/support/telegram-bridge.js';
import { TelegramEmulator, type EmulatedUser } from '../test/support/telegram-emulator.js';
import { startPrivateTorNetwork } from '../test/support/tor-network.js';
import { percentile } from './closed-loop.js';
import {
  callOperator,
  getOperator,
  obtainTokens,
  registerKomrade,
  sealedLetter,
  sendAnonymously,
  tokenKeyOf,
  type Komrade,
  type OperatorEndpoint,
} from './operator-calls.js';
import { cpuSeconds } from './processes.js';

/** CLI → Telegram over Tor. */
export interface PushLatency {
  readonly letters: number;
  readonly lost: number;
  /** From the CLI client's send to the bot's message in the recipient's chat. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** A bare GET /v1/health through the same Tor network, same run. */
  readonly floorP50Ms: number;
  readonly floorP99Ms: number;
  /** p50 letter ÷ p50 bare request. */
  readonly ratioP50: number;
}

/** CPU of one process over the idle window, in % of one core, and its resident memory. */
export interface ProcessIdle {
  readonly cpuPercent: number;
  readonly rssMb: number;
}

/** Nothing happening, a bot holding `identities` identities waiting over Tor. */
export interface BotIdle {
  readonly seconds: number;
  readonly identities: number;
  readonly waitGroupSize: number;
  readonly bot: ProcessIdle;
  readonly operator: ProcessIdle;
  readonly redis: ProcessIdle;
  /** Messages the bot sent during the idle window (should be 0). */
  readonly botMessagesWhileIdle: number;
}

/** The 10,000-identity design: the Operator with every identity waiting, groups of 1,000. */
export interface TenThousand {
  readonly identities: number;
  readonly groupSize: number;
  readonly groups: number;
  readonly seconds: number;
  /** The Operator idle, everyone waiting. */
  readonly operator: ProcessIdle;
  /** The Operator's RSS with the names registered and nobody waiting. */
  readonly operatorRssBeforeMb: number;
  /** Sockets the Operator holds open while everyone waits (one per group expected). */
  readonly operatorSocketsWaiting: number;
  /** Waits sent during the idle window (each group renews about once a minute). */
  readonly renewalsWhileIdle: number;
  /** The waiting side (this process: signing every proof of every renewal). */
  readonly waiterCpuPercent: number;
  /** Ed25519: signing 1,000 wait proofs, and verifying them (the Operator's cost per renewal). */
  readonly sign1000Ms: number;
  readonly verify1000Ms: number;
  /** A wait answered at once (mail waiting), 1,000 mailboxes vs one: the Operator's cost of a big wait. */
  readonly wait1000AtOnceP50Ms: number;
  readonly wait1AtOnceP50Ms: number;
  /** Operator CPU (ms, from /proc) per 1,000-mailbox wait: proofs parsed and verified. */
  readonly operatorCpuPerRenewalMs: number;
  /**
   * The Operator's CPU in % of one core with every group renewing at the mean wait length, for
   * waits of 55 s (the default `mail.maxWaitSeconds`) and 300 s: groups × CPU per renewal ÷ wait.
   */
  readonly steadyOperatorPercent: Readonly<Record<string, number>>;
}

/** What {@link benchPush} measured. */
export interface PushBench {
  readonly latency: PushLatency;
  readonly idle: BotIdle;
  readonly tenThousand: TenThousand;
}

interface Options {
  /** @defaultValue 30 */
  readonly letters?: number;
  /** Identities the idle bot holds. @defaultValue 1000 */
  readonly identities?: number;
  /** @defaultValue 60 */
  readonly idleSeconds?: number;
  /** @defaultValue 10000 */
  readonly waitingIdentities?: number;
  readonly log?: (line: string) => void;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? Number.NaN : Math.round(Number(match[1]) / 1024);
}

/** Open sockets of a process: its fds that link to `socket:[…]`. */
function sockets(pid: number): number {
  const links = execFileSync('find', [`/proc/${pid}/fd`, '-lname', 'socket:*'])
    .toString()
    .trim();
  return links === '' ? 0 : links.split('\n').length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU in % of one core of each process (and of this one) over `seconds` of doing nothing. */
async function idleCpu(
  pids: Readonly<Record<string, number>>,
  seconds: number,
): Promise<{ percent: Record<string, number>; self: number }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const selfBefore = process.cpuUsage();
  const started = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - started) / 1000;
  const selfUsed = process.cpuUsage(selfBefore);
  const percent: Record<string, number> = {};
  for (const [k, pid] of Object.entries(pids)) {
    percent[k] = Number((((cpuSeconds(pid) - (before[k] ?? 0)) / wall) * 100).toFixed(2));
  }
  const self = Number((((selfUsed.user + selfUsed.system) / 1e6 / wall) * 100).toFixed(2));
  return { percent, self };
}

/** The redis-server's pid, from INFO. */
async function redisPid(redis: RedisServer): Promise<number> {
  const connection = redis.connect();
  try {
    const info = await connection.info('server');
    return Number(/process_id:(\d+)/.exec(info)?.[1] ?? Number.NaN);
  } finally {
    connection.disconnect();
  }
}

/** `dist/adapters/telegram/main.js` as a child process; resolves once it runs. */
async function startBotProcess(configFile: string, token: string, masterKey: string) {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '..', 'adapters', 'telegram', 'main.js'), '--config', configFile],
    {
      env: {
        ...process.env,
        KOMRADE_TELEGRAM_TOKEN: token,
        KOMRADE_TELEGRAM_MASTER_KEY: masterKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (c.includes('komrade-telegram running')) resolve();
    });
    void exited.then(() => {
      reject(new Error(`the bot exited early:\n${stderr.slice(-2000)}`));
    });
  });
  return {
    pid: child.pid ?? Number.NaN,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      child.kill('SIGKILL');
      await exited;
      process.removeListener('exit', reap);
    },
  };
}

const lettersTo = (emulator: TelegramEmulator, user: EmulatedUser, tag: string) =>
  emulator.botMessages(user.id).filter((m) => m.text.includes(tag) && /etter from/.test(m.text));

/** Registers `users` through the bot, `batch` at a time. */
async function registerAll(
  emulator: TelegramEmulator,
  users: readonly { user: EmulatedUser; name: string }[],
  batch = 50,
): Promise<void> {
  for (let i = 0; i < users.length; i += batch) {
    const slice = users.slice(i, i + batch);
    for (const { user, name } of slice) emulator.userSends(user, `/register ${name}`);
    await Promise.all(
      slice.map(({ user, name }) =>
        emulator.waitForBotMessage(user.id, new RegExp(`Registered as @${name}\\b`), 300_000),
      ),
    );
  }
}

/**
 * Latency and the bot's idle CPU, on one private Tor network: a bot process holding `identities`
 * identities (registered beforehand on loopback, to keep the network from building a circuit per
 * registration) reaches the Operator's onion service through a client tor.
 */
export async function benchOverTor(
  letters: number,
  identities: number,
  idleSeconds: number,
  log: (line: string) => void,
): Promise<{ latency: PushLatency; idle: BotIdle }> {
  const dir = await mkdtemp(join(tmpdir(), 'komrade-bench-push-'));
  const network = await startPrivateTorNetwork();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const client = await network.startClientTor();
    const socksPort = client.socksPort;
    if (socksPort === undefined) throw new Error('client tor has no SOCKS port');
    const operator = await startOperatorProcess({
      powBits: 0,
      tor: { extraTorrcLines: network.torrcLinesForClient() },
    });
    cleanups.push(() => operator.cleanup());
    const onion = operator.onion;
    if (onion === undefined) throw new Error('the Operator printed no onion address');
    const redis = await startRedisServer({ persistence: false });
    cleanups.push(() => redis.cleanup());
    const emulator = new TelegramEmulator();
    await emulator.start();
    cleanups.push(() => emulator.close());

    // The CLI's komrade: the client core the CLI runs, with its own local store.
    const aliceKeys = generateIdentityKeys();
    const aliceStore = new SqliteLocalStore(join(dir, 'alice.db'), { storageKey: randomBytes(32) });
    cleanups.push(() => {
      aliceStore.close();
      return Promise.resolve();
    });
    const loopAgent = new Agent();
    cleanups.push(() => loopAgent.close());
    const aliceOnLoopback = new KomradeClient({
      operator: new HttpOperatorClient({
        baseUrl: operator.url,
        dispatcher: loopAgent,
        now: Date.now,
      }),
      store: aliceStore,
      keys: aliceKeys,
      now: Date.now,
      keyHolder: 'self',
    });
    await aliceOnLoopback.register('bench_alice');

    // The bot's identities, registered through the bot on loopback; the first receives letters.
    log(`push: registering ${identities} Telegram identities …`);
    const users = Array.from({ length: identities }, (_, i) => ({
      user: telegramUser(`P${i}`),
      name: `bench_p${i}`,
    }));
    const first = users[0];
    if (first === undefined) throw new Error('no identities');
    // Polled only when asked (a 300 ms schedule per identity would keep 1,000 identities busy).
    const harness = await startBridge({
      emulator,
      redis,
      operatorUrl: operator.url,
      prefix: testPrefix(),
      pollIntervalMs: 3_600_000,
    });
    try {
      await register(emulator, first.user, first.name);
      await registerAll(emulator, users.slice(1));
      // A first contact is shown with buttons; answering accepts it, so the run sees plain letters.
      await aliceOnLoopback.send(first.name, 'hello');
      await harness.settle([first.user]);
      await emulator.waitFor(
        () => lettersTo(emulator, first.user, 'hello')[0],
        60_000,
        'the first letter',
      );
      emulator.userSends(first.user, '/send @bench_alice hi');
      await harness.drained(120_000);
    } finally {
      await harness.stop();
    }
    cleanups.push(() => rm(harness.dataDir, { recursive: true, force: true }));

    // The bot again, now a process of its own reaching the onion through Tor.
    const configFile = join(dir, 'telegram.yaml');
    await writeFile(
      configFile,
      stringify({
        telegram: { apiRoot: emulator.apiRoot, throttle: false },
        operator: { url: onion },
        tor: { socksHost: '127.0.0.1', socksPort },
        redis: { host: redis.host, port: redis.port, queuePrefix: testPrefix() },
        store: { dataDir: harness.dataDir },
        mail: { pollIntervalSeconds: 30, waitGroupSize: 1000 },
        log: { level: 'warn' },
      }),
    );
    log('push: the bot over Tor …');
    const bot = await startBotProcess(configFile, emulator.token, harness.masterKey);
    cleanups.push(() => bot.stop());

    const floorDispatcher = createTorDispatcher({
      socksPort,
      isolationKey: 'bench-floor',
      connectionsPerOrigin: 1,
    });
    const cliDispatcher: Dispatcher = createTorDispatcher({
      socksPort,
      isolationKey: 'bench-cli',
      connectionsPerOrigin: 1,
    });
    // The CLI's anonymous sends and unsigned reads ride circuits of their own, as in the CLI.
    const cliAnonymous = createAnonymousCircuits({
      operatorUrl: onion,
      socks: { host: '127.0.0.1', port: socksPort },
    });
    cleanups.push(() => floorDispatcher.close());
    cleanups.push(() => cliDispatcher.close());
    cleanups.push(() => cliAnonymous.close());
    const overTor: OperatorEndpoint = { origin: onion, dispatcher: floorDispatcher };
    await retryWithBackoff(() => getOperator(overTor, '/v1/health'), {
      attempts: 40,
      baseMs: 250,
      maxMs: 2_000,
      retryIf: () => true,
    });
    const alice = new KomradeClient({
      operator: new HttpOperatorClient({
        baseUrl: onion,
        dispatcher: cliDispatcher,
        anonymous: cliAnonymous,
        now: Date.now,
      }),
      store: aliceStore,
      keys: aliceKeys,
      now: Date.now,
      keyHolder: 'self',
    });
    // Warm up: circuits for the CLI, the bot's wait and the recipient's fetches.
    await retryWithBackoff(() => alice.send(first.name, 'warm-up'), {
      attempts: 10,
      baseMs: 500,
      retryIf: () => true,
    });
    await emulator.waitFor(
      () => lettersTo(emulator, first.user, 'warm-up')[0],
      180_000,
      'the warm-up letter',
    );

    log(`push: ${letters} letters CLI → Telegram over Tor …`);
    const latencies: number[] = [];
    const floor: number[] = [];
    let lost = 0;
    for (let i = 0; i < letters; i++) {
      const t = performance.now();
      await getOperator(overTor, '/v1/health');
      floor.push(performance.now() - t);
      const tag = `push-${i}-${toBase64url(randomBytes(4))}`;
      const sentAt = Date.now();
      await alice.send(first.name, tag);
      try {
        const shown = await emulator.waitFor(
          () => lettersTo(emulator, first.user, tag)[0],
          60_000,
          'a letter',
        );
        latencies.push(shown.sentAt - sentAt);
      } catch {
        lost++;
      }
      await sleep(1_000);
    }
    const p50Ms = Math.round(percentile(latencies, 50));
    const floorP50Ms = Number(percentile(floor, 50).toFixed(1));
    const latency: PushLatency = {
      letters,
      lost,
      p50Ms,
      p99Ms: Math.round(percentile(latencies, 99)),
      floorP50Ms,
      floorP99Ms: Number(percentile(floor, 99).toFixed(1)),
      ratioP50: Number((p50Ms / floorP50Ms).toFixed(1)),
    };

    log(`push: idle for ${idleSeconds} s with ${identities} identities …`);
    await sleep(10_000);
    const shownBefore = emulator.allBotMessages().length;
    const pids = { bot: bot.pid, operator: operator.pid, redis: await redisPid(redis) };
    const { percent } = await idleCpu(pids, idleSeconds);
    const idle: BotIdle = {
      seconds: idleSeconds,
      identities,
      waitGroupSize: 1000,
      bot: { cpuPercent: percent['bot'] ?? Number.NaN, rssMb: rssMb(bot.pid) },
      operator: { cpuPercent: percent['operator'] ?? Number.NaN, rssMb: rssMb(operator.pid) },
      redis: { cpuPercent: percent['redis'] ?? Number.NaN, rssMb: rssMb(pids.redis) },
      botMessagesWhileIdle: emulator.allBotMessages().length - shownBefore,
    };
    return { latency, idle };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await network.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Registers `count` komrades on loopback, `parallel` at a time. */
async function registerMany(
  endpoint: OperatorEndpoint,
  count: number,
  parallel = 16,
): Promise<Komrade[]> {
  const komrades: Komrade[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        komrades[i] = await registerKomrade(endpoint, `bench_w${i}`, 0);
      }
    }),
  );
  return komrades;
}

/** One wait answered at once (the first mailbox has mail), timed from this side. */
async function waitAtOnce(
  endpoint: OperatorEndpoint,
  komrades: readonly Komrade[],
  operatorKey: Uint8Array,
  samples: number,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const at = Date.now();
    const mailboxes = komrades.map((k) => ({
      name: k.name,
      at,
      sig: toBase64url(
        signMailWait({ name: k.name, at, operator: operatorKey }, k.keys.signSecret),
      ),
    }));
    const t = performance.now();
    const answer = (await callOperator(endpoint, ROUTES.wait, { mailboxes, waitMs: 1_000 })) as {
      ready: string[];
    };
    times.push(performance.now() - t);
    if (answer.ready.length === 0) throw new Error('the wait did not answer at once');
  }
  return Number(percentile(times, 50).toFixed(2));
}

/** The Operator with `count` identities waiting in groups of 1,000 (loopback: its CPU alone). */
export async function benchTenThousand(
  count: number,
  idleSeconds: number,
  log: (line: string) => void,
): Promise<TenThousand> {
  const groupSize = 1_000;
  const operator: OperatorProcess = await startOperatorProcess({ powBits: 0 });
  const agent = new Agent({ connections: 64 });
  const agents: Agent[] = [];
  try {
    const endpoint: OperatorEndpoint = { origin: operator.url, dispatcher: agent };
    log(`push: registering ${count} identities at the Operator …`);
    const komrades = await registerMany(endpoint, count);
    const info = await new HttpOperatorClient({
      baseUrl: operator.url,
      dispatcher: agent,
      now: Date.now,
    }).info();
    const operatorKey = info.signKey;

    // Ed25519 cost of one renewal of a full group, on each side.
    const sample = komrades.slice(0, groupSize);
    const at = Date.now();
    let t = performance.now();
    const sigs = sample.map((k) =>
      signMailWait({ name: k.name, at, operator: operatorKey }, k.keys.signSecret),
    );
    const sign1000Ms = Number((performance.now() - t).toFixed(1));
    t = performance.now();
    sample.forEach((k, i) => {
      const sig = sigs[i];
      if (sig === undefined) return;
      if (!verifyMailWait({ name: k.name, at, operator: operatorKey }, sig, k.keys.signPublic)) {
        throw new Error('a wait proof did not verify');
      }
    });
    const verify1000Ms = Number((performance.now() - t).toFixed(1));

    // Mail for the first komrade, so waits answer at once; then fetched and acknowledged.
    const [k0, k1] = komrades;
    if (k0 === undefined || k1 === undefined) throw new Error('too few komrades');
    const [token] = await obtainTokens(endpoint, k1, await tokenKeyOf(endpoint), 1);
    if (token === undefined) throw new Error('no token');
    await sendAnonymously(endpoint, k0.name, sealedLetter(k1, k0, 256), token);
    const cpuBefore = cpuSeconds(operator.pid);
    const wait1000AtOnceP50Ms = await waitAtOnce(endpoint, sample, operatorKey, 20);
    const operatorCpuPerRenewalMs = Math.round(
      ((cpuSeconds(operator.pid) - cpuBefore) / 20) * 1000,
    );
    const wait1AtOnceP50Ms = await waitAtOnce(endpoint, [k0], operatorKey, 20);
    const fetched = (await callOperator(endpoint, '/v1/mail/fetch', { limit: 10 }, k0)) as {
      letters: { id: string }[];
    };
    await callOperator(endpoint, '/v1/mail/ack', { ids: fetched.letters.map((l) => l.id) }, k0);

    const operatorRssBeforeMb = rssMb(operator.pid);
    const byName = new Map(komrades.map((k) => [k.name, k]));
    let woken = 0;
    let renewals = 0;
    const watcher = new MailWatcher({
      operatorFor: () => {
        const own = new Agent({ connections: 1 });
        agents.push(own);
        const client = new HttpOperatorClient({
          baseUrl: operator.url,
          dispatcher: own,
          now: Date.now,
        });
        // Counts the waits sent (renewals), each carrying one proof per member.
        return new Proxy(client, {
          get: (target, prop) =>
            prop === 'waitForMail'
              ? (...args: Parameters<typeof target.waitForMail>) => {
                  renewals++;
                  return target.waitForMail(...args);
                }
              : (Reflect.get(target, prop) as unknown),
        });
      },
      signerOf: (name): RequestSigner | undefined => {
        const k = byName.get(name);
        return k === undefined ? undefined : { name: k.name, signSecret: k.keys.signSecret };
      },
      onMail: () => {
        woken++;
      },
      groupSize,
      fallbackPollMs: 30_000,
      logger: silentLogger,
    });
    watcher.start(komrades.map((k) => k.name));
    try {
      // Every group's first wait is out (each signs 1,000 proofs first) before the window opens.
      await sleep(15_000);
      log(`push: idle for ${idleSeconds} s with ${count} identities waiting …`);
      const operatorSocketsWaiting = sockets(operator.pid);
      const renewalsBefore = renewals;
      const { percent, self } = await idleCpu({ operator: operator.pid }, idleSeconds);
      const renewalsWhileIdle = renewals - renewalsBefore;
      if (woken > 0) log(`push: ${woken} wake-ups while idle (expected none)`);
      return {
        identities: count,
        groupSize,
        groups: watcher.groups,
        seconds: idleSeconds,
        operator: { cpuPercent: percent['operator'] ?? Number.NaN, rssMb: rssMb(operator.pid) },
        operatorRssBeforeMb,
        operatorSocketsWaiting,
        renewalsWhileIdle,
        waiterCpuPercent: self,
        sign1000Ms,
        verify1000Ms,
        wait1000AtOnceP50Ms,
        operatorCpuPerRenewalMs,
        steadyOperatorPercent: Object.fromEntries(
          [55, 300].map((seconds) => [
            `${seconds}s`,
            // Renewals of every group at the mean wait length (a tenth of jitter: 0.95 of it).
            Number(
              (
                ((watcher.groups * operatorCpuPerRenewalMs) / 1000 / (seconds * 0.95)) *
                100
              ).toFixed(2),
            ),
          ]),
        ),
        wait1AtOnceP50Ms,
      };
    } finally {
      await watcher.close();
    }
  } finally {
    await Promise.all(agents.map((a) => a.close()));
    await agent.close();
    await operator.cleanup();
  }
}

/**
 * Runs the three measurements.
 * @example
 * ```ts
 * const push = await benchPush({ letters: 30 });
 * console.log(push.latency.p50Ms, push.idle.bot.cpuPercent);
 * ```
 */
export async function benchPush(options: Options = {}): Promise<PushBench> {
  const log =
    options.log ??
    ((line: string) => {
      console.error(line);
    });
  const idleSeconds = options.idleSeconds ?? 60;
  const { latency, idle } = await benchOverTor(
    options.letters ?? 30,
    options.identities ?? 1_000,
    idleSeconds,
    log,
  );
  const tenThousand = await benchTenThousand(options.waitingIdentities ?? 10_000, idleSeconds, log);
  return { latency, idle, tenThousand };
}

/** Prints the push figures: a table per part and one line on the targets. */
export function printPush(
  push: PushBench,
  printTable: (rows: readonly (readonly string[])[]) => void,
): void {
  const { latency, idle, tenThousand: tk } = push;
  console.log('');
  printTable([
    ['CLI → Telegram over Tor', 'letters', 'lost', 'p50 ms', 'p99 ms', 'ratio p50 to floor'],
    [
      'letter shown in the chat',
      `${latency.letters}`,
      `${latency.lost}`,
      `${latency.p50Ms}`,
      `${latency.p99Ms}`,
      `${latency.ratioP50}`,
    ],
    [
      'floor: GET /v1/health',
      `${latency.letters}`,
      '0',
      `${latency.floorP50Ms}`,
      `${latency.floorP99Ms}`,
      '1.0',
    ],
  ]);
  console.log(
    `CLI → Telegram p50 ${latency.p50Ms} ms (target ≤ 2000 ms; about 26,000 ms with 30 s polling)`,
  );
  console.log('');
  printTable([
    [`idle ${idle.seconds} s`, 'identities', 'CPU % of one core', 'RSS MB', 'target met'],
    ...(['bot', 'operator', 'redis'] as const).map((k) => [
      k === 'bot'
        ? `bot (waitGroupSize ${idle.waitGroupSize})`
        : k === 'operator'
          ? 'Operator'
          : 'redis-server (the bot’s)',
      `${idle.identities}`,
      `${idle[k].cpuPercent}`,
      `${idle[k].rssMb}`,
      k === 'redis' ? '' : idle[k].cpuPercent < 2 ? 'yes' : 'NO',
    ]),
    [
      `Operator, all waiting in groups of ${tk.groupSize}`,
      `${tk.identities}`,
      `${tk.operator.cpuPercent}`,
      `${tk.operatorRssBeforeMb} → ${tk.operator.rssMb}`,
      tk.operator.cpuPercent < 2 ? 'yes' : 'NO',
    ],
    [`the waiting side (${tk.groups} waits)`, `${tk.identities}`, `${tk.waiterCpuPercent}`, '', ''],
  ]);
  console.log(
    `${tk.identities} identities waiting: ${tk.groups} groups, ${tk.operatorSocketsWaiting} sockets open at the Operator, ${tk.renewalsWhileIdle} renewals in ${tk.seconds} s; a 1,000-mailbox renewal costs ${tk.sign1000Ms} ms of signing and ${tk.verify1000Ms} ms of verifying; a wait answered at once takes ${tk.wait1000AtOnceP50Ms} ms for 1,000 mailboxes, ${tk.wait1AtOnceP50Ms} ms for one (p50, loopback); the Operator spends ${tk.operatorCpuPerRenewalMs} ms of CPU per 1,000-mailbox wait, i.e. ${tk.steadyOperatorPercent['55s'] ?? '?'}% of a core for ${tk.identities} identities renewing every 55 s, ${tk.steadyOperatorPercent['300s'] ?? '?'}% every 300 s (mail.maxWaitSeconds)`,
  );
}

// `node dist/bench/push.js` runs these measurements alone (`npm run bench` runs them with the rest).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await initCrypto();
  const push = await benchPush({
    idleSeconds: Number(process.env['BENCH_IDLE_SECONDS'] ?? '60'),
  });
  printPush(push, (rows) => {
    const widths = (rows[0] ?? []).map((_, i) =>
      Math.max(...rows.map((row) => row[i]?.length ?? 0)),
    );
    for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
  });
  console.log(`BENCH_JSON ${JSON.stringify({ push })}`);
}
