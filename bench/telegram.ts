/**
 * Letters from Telegram users to Telegram users through the adapter (grammY, BullMQ on a private
 * Redis) and a real Operator process, against the local Bot API emulator: without platform limits,
 * then with Telegram's flood limits enforced by the emulator and the adapter's pacing on.
 */
import { startOperatorProcess } from '../test/support/operator-process.js';
import { startRedisServer, testPrefix } from '../test/support/redis-server.js';
import { register, startBridge, telegramUser } from '../test/support/telegram-bridge.js';
import { TelegramEmulator, type EmulatedUser } from '../test/support/telegram-emulator.js';
import { percentile } from './closed-loop.js';

/** One measurement. */
export interface TelegramRate {
  /** Letters shown to their recipients per second. */
  readonly lettersPerSecond: number;
  /** Bot messages Telegram accepted per second (letters plus "on its way" confirmations). */
  readonly botMessagesPerSecond: number;
  /** From the sender's update to the recipient's message. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly letters: number;
  readonly lost: number;
  readonly shownTwice: number;
  /** 429 answers the adapter received. */
  readonly tooManyRequests: number;
}

/** What {@link benchTelegram} returns. */
export interface TelegramBench {
  /** One sender to one recipient, emulator without limits. */
  readonly unlimited: TelegramRate;
  /** Many pairs, Telegram's limits on (30/s overall, 1/s per chat): offered at 30 bot msg/s. */
  readonly limited: TelegramRate;
}

interface Options {
  /** Letters in the unlimited run. @defaultValue 200 */
  readonly unlimitedLetters?: number;
  /** Pairs of users in the limited run. @defaultValue 30 */
  readonly pairs?: number;
  /** Seconds of offered load in the limited run. @defaultValue 10 */
  readonly seconds?: number;
}

async function measure(
  emulator: TelegramEmulator,
  sends: { from: EmulatedUser; to: EmulatedUser; toName: string; at: number; tag: string }[],
  timeoutMs: number,
  before: number,
): Promise<TelegramRate> {
  const first = sends[0]?.at ?? Date.now();
  const shownAt = (s: (typeof sends)[number]) =>
    emulator
      .botMessages(s.to.id)
      .filter((m) => m.text.includes(s.tag) && /etter from/.test(m.text));
  const deadline = Date.now() + timeoutMs;
  await emulator
    .waitFor(
      () => (sends.every((s) => shownAt(s).length > 0) ? true : undefined),
      Math.max(0, deadline - Date.now()),
      'every letter',
    )
    .catch(() => undefined);
  const latencies: number[] = [];
  let lost = 0;
  let twice = 0;
  let last = first;
  for (const s of sends) {
    const shown = shownAt(s);
    if (shown.length === 0) {
      lost++;
      continue;
    }
    if (shown.length > 1) twice++;
    const at = shown[0]?.sentAt ?? 0;
    last = Math.max(last, at);
    latencies.push(at - s.at);
  }
  const seconds = Math.max(0.001, (last - first) / 1000);
  const botMessages = emulator.allBotMessages().length - before;
  return {
    lettersPerSecond: Math.round((sends.length - lost) / seconds),
    botMessagesPerSecond: Math.round(botMessages / seconds),
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    letters: sends.length,
    lost,
    shownTwice: twice,
    tooManyRequests: emulator.tooManyRequests,
  };
}

async function run(
  throttle: boolean,
  pairs: number,
  lettersPerPair: number,
  gapMs: number,
): Promise<TelegramRate> {
  const [operator, redis] = await Promise.all([
    startOperatorProcess({ powBits: 8 }),
    startRedisServer(),
  ]);
  const emulator = new TelegramEmulator();
  await emulator.start();
  const bridge = await startBridge({
    emulator,
    redis,
    operatorUrl: operator.url,
    prefix: testPrefix(),
    throttle: false,
    pollIntervalMs: 1_000,
  });
  try {
    const users = Array.from({ length: pairs }, (_, i) => ({
      from: telegramUser(`S${i}`),
      to: telegramUser(`R${i}`),
      fromName: `bench_s${i}`,
      toName: `bench_r${i}`,
    }));
    for (const u of users) {
      await register(emulator, u.from, u.fromName);
      await register(emulator, u.to, u.toName);
    }
    // First contacts are shown with buttons; accept them so the run measures ordinary letters.
    for (const u of users) {
      emulator.userSends(u.from, `/send @${u.toName} hello`);
      await emulator.waitFor(() =>
        emulator.botMessages(u.to.id).find((m) => m.text.includes(`from @${u.fromName}`)),
      );
      emulator.userSends(u.to, `/send @${u.fromName} hi`);
    }
    await bridge.drained(60_000);
    await bridge.stop();
    // Restart with the platform's limits and the adapter's pacing as configured for the run.
    if (throttle) emulator.setLimits({});
    const timed = await startBridge({
      emulator,
      redis,
      operatorUrl: operator.url,
      prefix: testPrefix(),
      dataDir: bridge.dataDir,
      masterKey: bridge.masterKey,
      throttle,
      pollIntervalMs: 1_000,
    });
    try {
      emulator.tooManyRequests = 0;
      const before = emulator.allBotMessages().length;
      const sends: Parameters<typeof measure>[1] = [];
      for (let round = 0; round < lettersPerPair; round++) {
        for (const u of users) {
          const tag = `bench-${round}-${u.fromName}`;
          emulator.userSends(u.from, `/send @${u.toName} ${tag}`);
          sends.push({ from: u.from, to: u.to, toName: u.toName, at: Date.now(), tag });
          if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        }
      }
      return await measure(emulator, sends, 120_000, before);
    } finally {
      await timed.cleanup();
    }
  } finally {
    await bridge.cleanup();
    await emulator.close();
    await Promise.all([operator.cleanup(), redis.cleanup()]);
  }
}

/**
 * Runs both measurements.
 * @example
 * ```ts
 * const figures = await benchTelegram();
 * console.log(figures.limited.p99Ms);
 * ```
 */
export async function benchTelegram(options: Options = {}): Promise<TelegramBench> {
  const unlimited = await run(false, 1, options.unlimitedLetters ?? 200, 0);
  const pairs = options.pairs ?? 30;
  const seconds = options.seconds ?? 10;
  // Each letter makes two bot messages (the letter, and "on its way" to its sender): offer
  // 15 letters/s, i.e. 30 bot messages/s (Telegram's global limit), spread over the pairs.
  const lettersPerSecond = 15;
  const limited = await run(
    true,
    pairs,
    Math.max(1, Math.round((lettersPerSecond * seconds) / pairs)),
    Math.round(1000 / lettersPerSecond),
  );
  return { unlimited, limited };
}
