/**
 * `komrade-discord` starts cleanly or says why not: the real process (dist/adapters/discord/main.js)
 * against the Discord emulator and a real Redis. An onion Operator without a tor section and a
 * token Discord refuses each end it with a message naming the cause (never the token); the first
 * SIGTERM ends it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDiscordEmulator, type DiscordEmulator } from '../support/discord-emulator.js';
import { startRedisServer, testPrefix, type RedisServer } from '../support/redis-server.js';

const MAIN = 'dist/adapters/discord/main.js';
const MASTER_KEY = randomBytes(32).toString('hex');

let dir: string;
let emulator: DiscordEmulator;
let redis: RedisServer;

/** Runs the bot with a config merged over a working one, until it prints that it runs or exits. */
async function runBot(overrides: Record<string, unknown>, token = emulator.token) {
  const file = join(dir, `discord-${randomBytes(4).toString('hex')}.yaml`);
  await writeFile(
    file,
    stringify({
      discord: { apiRoot: emulator.url },
      // Nothing needs the Operator here: no identity is registered.
      operator: { url: 'http://127.0.0.1:9' },
      redis: { port: redis.port, queuePrefix: testPrefix() },
      store: { dataDir: join(dir, randomBytes(4).toString('hex')) },
      ...overrides,
    }),
  );
  const child = spawn(process.execPath, [MAIN, '--config', file], {
    env: { ...process.env, KOMRADE_DISCORD_TOKEN: token, KOMRADE_DISCORD_MASTER_KEY: MASTER_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      process.removeListener('exit', reap);
      r(code);
    }),
  );
  const running = await new Promise<boolean>((resolveFirst) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      if (stdout.includes('komrade-discord running')) resolveFirst(true);
    });
    void exited.then(() => {
      resolveFirst(false);
    });
  });
  const exit = async (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`still running ${timeoutMs} ms later:\n${stderr}`));
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { running, stderr: () => stderr, exit, signal: (s: NodeJS.Signals) => child.kill(s) };
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first.`);
  dir = await mkdtemp(join(tmpdir(), 'komrade-discord-startup-'));
  [emulator, redis] = await Promise.all([startDiscordEmulator(), startRedisServer()]);
});

afterAll(async () => {
  await emulator.close();
  await redis.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('komrade-discord startup', () => {
  it('refuses an onion Operator without a tor section, naming the field and the fix', async () => {
    const onion = `http://${'b'.repeat(55)}d.onion`;
    const bot = await runBot({ operator: { url: onion } });
    expect(bot.running).toBe(false);
    expect(await bot.exit(5_000)).toBe(2);
    expect(bot.stderr()).toContain('operator.url: is an onion address');
    expect(bot.stderr()).toContain('add a tor section (tor.socksPort');
    expect(bot.stderr()).not.toContain(onion);
  });

  it("says Discord refused the token, in Discord's words, never the token", async () => {
    const wrong = `${emulator.token.slice(0, -8)}hunter22`;
    const bot = await runBot({}, wrong);
    expect(bot.running).toBe(false);
    expect(await bot.exit(5_000)).toBe(1);
    expect(bot.stderr()).toContain('An invalid token was provided. (TokenInvalid)');
    expect(bot.stderr()).toContain('Developer Portal');
    expect(bot.stderr()).not.toContain('hunter22');
  });

  it('starts with the right token and stops on the first SIGTERM', async () => {
    const bot = await runBot({});
    expect(bot.running, bot.stderr()).toBe(true);
    bot.signal('SIGTERM');
    expect(await bot.exit(15_000)).toBe(0);
  });
});
