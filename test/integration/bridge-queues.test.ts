/**
 * The bridge's queues under failure, with a real Redis, a real Operator and the real bot against
 * the Bot API emulator: the adapter killed between fetching a letter and showing it, Redis killed
 * mid-run, Telegram answering 429. In every case the letter arrives, exactly once.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { startRedisServer, testPrefix, type RedisServer } from '../support/redis-server.js';
import { TelegramEmulator, type EmulatedUser } from '../support/telegram-emulator.js';
import { register, startBridge, telegramUser } from '../support/telegram-bridge.js';

let operator: OperatorProcess;
let redis: RedisServer;
let emulator: TelegramEmulator;

beforeAll(async () => {
  [operator, redis] = await Promise.all([startOperatorProcess({ powBits: 8 }), startRedisServer()]);
  emulator = new TelegramEmulator();
  await emulator.start();
});

afterAll(async () => {
  await emulator.close();
  await Promise.all([operator.cleanup(), redis.cleanup()]);
});

const lettersTo = (user: EmulatedUser, text: string) =>
  emulator.botMessages(user.id).filter((m) => /etter from @/.test(m.text) && m.text.includes(text));

/** Runs `dist/adapters/telegram/main.js` as a child process; resolves once it polls Telegram. */
async function startAdapterProcess(configFile: string, masterKey: string) {
  const child = spawn(
    process.execPath,
    ['dist/adapters/telegram/main.js', '--config', configFile],
    {
      env: {
        ...process.env,
        KOMRADE_TELEGRAM_TOKEN: emulator.token,
        KOMRADE_TELEGRAM_MASTER_KEY: masterKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      r();
    }),
  );
  await new Promise<void>((resolveReady, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (c.includes('komrade-telegram running')) resolveReady();
    });
    void exited.then(() => {
      reject(new Error(`adapter exited early:\n${stderr}`));
    });
  });
  return {
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
      process.removeListener('exit', reap);
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      process.removeListener('exit', reap);
    },
  };
}

describe('bridge queues', () => {
  it('adapter killed (SIGKILL) between fetch and Telegram delivery: the letter arrives once after restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'komrade-telegram-proc-'));
    const masterKey = randomBytes(32).toString('hex');
    const configFile = join(dataDir, 'telegram.yaml');
    await writeFile(
      configFile,
      stringify({
        telegram: { apiRoot: emulator.apiRoot, throttle: false },
        operator: { url: operator.url },
        redis: { host: redis.host, port: redis.port, queuePrefix: testPrefix() },
        store: { dataDir: join(dataDir, 'data') },
        mail: { pollIntervalSeconds: 0.3 },
        log: { level: 'warn' },
      }),
    );
    const ann = telegramUser('Ann');
    const ben = telegramUser('Ben');
    let adapter = await startAdapterProcess(configFile, masterKey);
    try {
      await register(emulator, ann, 'ann_k');
      await register(emulator, ben, 'ben_k');
      const hold = emulator.holdSendsTo(ben.id);
      emulator.userSends(ann, '/send @ben_k survives a crash');
      // Fetched, stored, and now being shown: the crash comes before Telegram answers.
      await hold.held;
      await adapter.kill();
      hold.release();
      expect(lettersTo(ben, 'survives a crash')).toHaveLength(0);
      adapter = await startAdapterProcess(configFile, masterKey);
      await emulator.waitFor(() => lettersTo(ben, 'survives a crash')[0], 20_000, 'the letter');
      // A later letter proves the queue moved on; the first one was still shown only once.
      emulator.userSends(ann, '/send @ben_k after restart');
      await emulator.waitFor(() => lettersTo(ben, 'after restart')[0], 20_000, 'the second');
      expect(lettersTo(ben, 'survives a crash')).toHaveLength(1);
    } finally {
      await adapter.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('Redis killed mid-run and restarted: nothing is lost', async () => {
    const bridge = await startBridge({
      emulator,
      redis,
      operatorUrl: operator.url,
      prefix: testPrefix(),
    });
    const cat = telegramUser('Cat');
    const dan = telegramUser('Dan');
    try {
      await register(emulator, cat, 'cat_r');
      await register(emulator, dan, 'dan_r');
      emulator.userSends(cat, '/send @dan_r before the crash');
      await emulator.waitFor(() => lettersTo(dan, 'before the crash')[0]);
      await redis.kill();
      emulator.userSends(cat, '/send @dan_r during the outage');
      emulator.userSends(dan, '/send @cat_r also during the outage');
      await redis.start();
      await emulator.waitFor(() => lettersTo(dan, 'during the outage')[0], 25_000, 'letter to dan');
      await emulator.waitFor(() => lettersTo(cat, 'also during the outage')[0], 25_000, 'to cat');
      await bridge.drained();
      expect(lettersTo(dan, 'before the crash')).toHaveLength(1);
      expect(lettersTo(dan, 'during the outage')).toHaveLength(1);
    } finally {
      await bridge.cleanup();
    }
  });

  it('Telegram answers 429 with retry_after: the letter arrives once, after the wait', async () => {
    const bridge = await startBridge({
      emulator,
      redis,
      operatorUrl: operator.url,
      prefix: testPrefix(),
      throttle: true,
    });
    const eve = telegramUser('Eve');
    const fay = telegramUser('Fay');
    try {
      await register(emulator, eve, 'eve_t');
      await register(emulator, fay, 'fay_t');
      const before = emulator.tooManyRequests;
      emulator.force429('sendMessage', 3, 1);
      emulator.userSends(eve, '/send @fay_t through the flood');
      await emulator.waitFor(() => lettersTo(fay, 'through the flood')[0], 25_000, 'the letter');
      await bridge.drained();
      expect(emulator.tooManyRequests - before).toBe(3);
      expect(lettersTo(fay, 'through the flood')).toHaveLength(1);
    } finally {
      await bridge.cleanup();
    }
  });
});
