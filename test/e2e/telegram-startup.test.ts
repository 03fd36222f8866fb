/**
 * `komrade-telegram` starts cleanly or says why not: the real process (dist/adapters/telegram/main.js)
 * against the Bot API emulator and a real Redis. An onion Operator without a tor section, a token
 * Telegram refuses and an unreachable Redis each end it with a message naming the cause (never a
 * secret); Redis going away while it runs is a few log lines, not a flood, and the first SIGTERM
 * ends it. Then, in-process: Accept keeps the letter on screen, and the texts flow as paragraphs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startRedisServer, testPrefix, type RedisServer } from '../support/redis-server.js';
import { register, telegramUser } from '../support/telegram-bridge.js';
import { TelegramEmulator } from '../support/telegram-emulator.js';
import { useTelegramStack } from '../support/use-telegram-stack.js';

const MAIN = 'dist/adapters/telegram/main.js';
const MASTER_KEY = randomBytes(32).toString('hex');
const REDIS_PASSWORD = `redis-pass-${randomBytes(6).toString('hex')}`;
const ONION = `http://${'a'.repeat(55)}d.onion`;

/** The bot process: its output so far, and how it ended. */
interface BotProcess {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (null after a signal) once it has exited. */
  readonly exited: Promise<number | null>;
  /** Resolves once it printed that it runs; rejects if it exits first. */
  readonly running: Promise<void>;
  signal(name: NodeJS.Signals): void;
}

let dir: string;
let emulator: TelegramEmulator;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => {
    server.listen(0, '127.0.0.1', r);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((r) => {
    server.close(() => {
      r();
    });
  });
  return port;
}

/** Writes a config (merged over a working one) and runs the bot with it. */
async function startBot(
  overrides: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<BotProcess> {
  const file = join(dir, `telegram-${randomBytes(4).toString('hex')}.yaml`);
  await writeFile(
    file,
    stringify({
      telegram: { apiRoot: emulator.apiRoot, throttle: false },
      operator: { url: `http://127.0.0.1:${await closedPort()}` },
      store: { dataDir: join(dir, randomBytes(4).toString('hex')) },
      log: { level: 'info' },
      ...overrides,
    }),
  );
  const child = spawn(process.execPath, [MAIN, '--config', file], {
    env: {
      ...process.env,
      KOMRADE_TELEGRAM_TOKEN: emulator.token,
      KOMRADE_TELEGRAM_MASTER_KEY: MASTER_KEY,
      KOMRADE_REDIS_PASSWORD: REDIS_PASSWORD,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      process.removeListener('exit', reap);
      r(code);
    }),
  );
  const running = new Promise<void>((resolveRunning, reject) => {
    child.stdout.on('data', () => {
      if (stdout.includes('komrade-telegram running')) resolveRunning();
    });
    void exited.then(() => {
      reject(new Error(`the bot exited:\n${stderr}`));
    });
  });
  running.catch(() => undefined);
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    running,
    signal: (name) => child.kill(name),
  };
}

/** Waits until `probe` holds, checking every 50 ms; fails after `timeoutMs`. */
async function until(probe: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with the exit code, or fails if the process has not exited within `timeoutMs`. */
async function exitWithin(bot: BotProcess, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      bot.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`still running ${timeoutMs} ms later:\n${bot.stderr()}`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first.`);
  dir = await mkdtemp(join(tmpdir(), 'komrade-telegram-startup-'));
  emulator = new TelegramEmulator();
  await emulator.start();
});

afterAll(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

describe('komrade-telegram startup', () => {
  it('refuses an onion Operator without a tor section, naming the field and the fix', async () => {
    const bot = await startBot({ operator: { url: ONION } });
    expect(await exitWithin(bot, 20_000)).toBe(2);
    expect(bot.stderr()).toContain('operator.url: is an onion address');
    expect(bot.stderr()).toContain('add a tor section (tor.socksPort');
    expect(bot.stderr()).not.toContain(ONION);
    expect(bot.stdout()).not.toContain('running');
  });

  it('refuses an Operator that is neither onion nor on this machine', async () => {
    const bot = await startBot({ operator: { url: 'https://operator.example.org' } });
    expect(await exitWithin(bot, 20_000)).toBe(2);
    expect(bot.stderr()).toContain('operator.url: must be an onion address');
    expect(bot.stderr()).not.toContain('operator.example.org');
  });

  it('says Redis cannot be reached, with its address and never its password', async () => {
    const port = await closedPort();
    const bot = await startBot({ redis: { port } });
    expect(await exitWithin(bot, 30_000)).toBe(1);
    expect(bot.stderr()).toContain(`Redis at redis://127.0.0.1:${port} cannot be reached`);
    expect(bot.stderr()).toContain('ECONNREFUSED');
    expect(bot.stderr()).not.toContain(REDIS_PASSWORD);
    expect(bot.stdout()).not.toContain('running');
  });

  describe('with Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis.cleanup();
    });

    it("says why Telegram refused the token (getMe's 401), never the token", async () => {
      const wrong = '123456:WRONG-token-hunter2';
      const bot = await startBot(
        { redis: { port: redis.port, queuePrefix: testPrefix() } },
        { KOMRADE_TELEGRAM_TOKEN: wrong, KOMRADE_REDIS_PASSWORD: '' },
      );
      expect(await exitWithin(bot, 30_000)).toBe(1);
      expect(bot.stderr()).toContain('Telegram answered getMe with 401 "Unauthorized"');
      expect(bot.stderr()).toContain('refused the bot token');
      expect(bot.stderr()).not.toContain('hunter2');
      expect(bot.stdout()).not.toContain('running');
    });

    it('logs a Redis outage in a few lines, not one per retry, and stops on the first SIGTERM', async () => {
      const bot = await startBot(
        { redis: { port: redis.port, queuePrefix: testPrefix() } },
        { KOMRADE_REDIS_PASSWORD: '' },
      );
      try {
        await bot.running;
        await redis.kill();
        await until(() => bot.stderr().includes('"bridge.redis_lost"'), 'the outage line');
        const atFirstLine = bot.stderr().split('\n').length;
        // ioredis retries several times a second meanwhile (each retry used to be a line or more).
        await new Promise((r) => setTimeout(r, 3_000));
        const lines = bot
          .stderr()
          .split('\n')
          .filter((l) => l.length > 0);
        expect(lines.length - atFirstLine).toBeLessThanOrEqual(1);
        expect(lines.filter((l) => l.includes('"bridge.redis_lost"'))).toHaveLength(1);
        expect(bot.stderr()).toContain(`"redis":"redis://127.0.0.1:${redis.port}"`);
        bot.signal('SIGTERM');
        expect(await exitWithin(bot, 15_000)).toBe(0);
      } finally {
        bot.signal('SIGKILL');
        await redis.start();
      }
    });

    it('stops on the first SIGTERM while Redis is up, too', async () => {
      const bot = await startBot(
        { redis: { port: redis.port, queuePrefix: testPrefix() } },
        { KOMRADE_REDIS_PASSWORD: '' },
      );
      await bot.running;
      bot.signal('SIGTERM');
      expect(await exitWithin(bot, 15_000)).toBe(0);
    });
  });
});

describe('komrade-telegram in a chat', () => {
  const ann = telegramUser('Ann');
  const ben = telegramUser('Ben');
  const stack = useTelegramStack({ ann_s: ann, ben_s: ben });

  it('keeps the first letter on screen when Accept is pressed, and confirms under it', async () => {
    const chat = stack.emulator;
    chat.userSends(ann, '/send @ben_s hello from ann');
    const letter = await chat.waitForBotMessage(
      ben.id,
      (m) => m.text.includes('First letter from @ann_s') && m.text.includes('hello from ann'),
      20_000,
    );
    const shown = letter.text;
    chat.userClicks(ben, letter.message_id, 'acc:ann_s');
    const confirmation = await chat.waitForBotMessage(ben.id, /^Accepted @ann_s/);
    expect(confirmation.message_id).not.toBe(letter.message_id);
    expect(confirmation.reply_to).toBe(letter.message_id);
    const after = chat.botMessages(ben.id).find((m) => m.message_id === letter.message_id);
    expect(after?.text).toBe(shown);
    expect(after?.reply_markup).toBeUndefined();

    // Blocking works the same way: the letter stays, the answer comes under it.
    const eve = telegramUser('Eve');
    await register(chat, eve, 'eve_s');
    chat.userSends(eve, '/send @ben_s buy now');
    const spam = await chat.waitForBotMessage(ben.id, (m) => m.text.includes('buy now'), 20_000);
    chat.userClicks(ben, spam.message_id, 'blk:eve_s');
    await chat.waitForBotMessage(ben.id, /^Blocked @eve_s/);
    expect(chat.botMessages(ben.id).find((m) => m.message_id === spam.message_id)?.text).toBe(
      spam.text,
    );
  });

  it('lets paragraphs flow: no line break inside a sentence of /start', async () => {
    const chat = stack.emulator;
    chat.userSends(ann, '/start');
    const intro = await chat.waitForBotMessage(ann.id, /Komrade is/);
    expect(intro.text).toContain(
      'letters that only you and the recipient can read, and a world feed whose posts expire.',
    );
    expect(intro.text).toContain('encrypted under their master key.');
    // Each line is a paragraph, a list item or a heading: none ends mid-sentence.
    for (const line of intro.text.split('\n').filter((l) => l.length > 0)) {
      expect(line, line).toMatch(/[.:)]$|^\d\. |^\/|—/);
    }
  });
});
