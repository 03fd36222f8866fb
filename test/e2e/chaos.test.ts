/**
 * Never lost, never twice, under kill -9 and pause: letters flow both ways between Telegram users
 * (the real bot process against the Bot API emulator, which re-delivers an update until the bot
 * asks past it, as Telegram does) and CLI users (the client core in this process), while the bot,
 * the Operator and Redis (without persistence: a restart comes back empty) are SIGKILLed at
 * random — sometimes two at once, the bot often within 300 ms of taking a `/send` — and restarted
 * on the same data, and the Operator or the bot is SIGSTOPped for a few seconds. Once everything
 * runs again and the letters drained, each was shown exactly once: none lost, duplicated or stuck.
 *
 * About 45 s of chaos by default; `KOMRADE_CHAOS_MS=240000` for four minutes
 * (`npm run test:chaos`), `KOMRADE_CHAOS_SEED` replays a run's faults (printed first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosSeed, ChaosRandom } from '../support/chaos-random.js';
import { chaosLog, runChaos } from '../support/chaos-run.js';
import { ChaosWorld } from '../support/chaos-world.js';

const positive = (name: string, fallback: number): number => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number of milliseconds`);
  return Number(value);
};

const seed = chaosSeed();
const chaosMs = positive('KOMRADE_CHAOS_MS', 45_000);
const drainMs = positive('KOMRADE_CHAOS_DRAIN_MS', 60_000);
const world = new ChaosWorld(seed, new ChaosRandom(seed ^ 0xc0ffee));

beforeAll(async () => {
  chaosLog(`chaos seed ${seed} (replay with KOMRADE_CHAOS_SEED=${seed})`);
  await world.start();
}, 120_000);

afterAll(async () => {
  await world.close();
}, 60_000);

describe('chaos: the bot, the Operator and Redis killed and paused at random', () => {
  it(
    'shows every letter exactly once',
    async () => {
      const { verdict, text } = await runChaos(world, {
        seed,
        chaosMs,
        drainMs,
        log: chaosLog,
      });
      expect(verdict.counts.once, text).toBeGreaterThan(0);
      expect(
        {
          lost: verdict.counts.lost,
          duplicated: verdict.counts.duplicated,
          stuck: verdict.counts.stuck,
        },
        text,
      ).toEqual({ lost: 0, duplicated: 0, stuck: 0 });
    },
    chaosMs + drainMs + 180_000,
  );
});
