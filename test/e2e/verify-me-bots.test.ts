/**
 * `/verifyme` on both bots (the real grammY and discord.js clients against their emulators, a
 * real Redis and a real Operator process): each answers, in a few lines, that the registry log
 * holds only the user's keys for their name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOnDiscord, slash } from '../support/discord-bridge.js';
import {
  startTelegramAndDiscord,
  type TelegramAndDiscord,
} from '../support/telegram-and-discord.js';
import { register, telegramUser } from '../support/telegram-bridge.js';

let both: TelegramAndDiscord;

beforeAll(async () => {
  both = await startTelegramAndDiscord('verify-me');
}, 120_000);

afterAll(async () => {
  await both.stop();
}, 60_000);

describe('/verifyme', () => {
  it('answers on Telegram that the log holds only your keys for your name', async () => {
    const { emulator } = both.stack;
    const tess = telegramUser('Tess');
    await register(emulator, tess, 'tess');
    emulator.userSends(tess, '/verifyme');
    const answer = await emulator.waitForBotMessage(tess.id, /registry log/, 30_000);
    expect(answer.text).toMatch(
      /Your keys are the only ones for @tess in the Operator’s registry log \(\d+ entr(y|ies)\)/,
    );
    expect(answer.text).toContain('No problems found.');
  }, 60_000);

  it('answers on Discord the same way', async () => {
    const { discord, lobby, dana } = both;
    await registerOnDiscord(discord, lobby.id, dana, 'dana');
    const reply = await slash(discord, lobby.id, dana, 'verifyme');
    expect(reply.content).toMatch(
      /Your keys are the only ones for \*{0,2}@dana\*{0,2} in the Operator’s registry log/,
    );
    expect(reply.content).toContain('No problems found.');
  }, 60_000);
});
