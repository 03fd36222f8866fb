/** The bots' `monitor.everyMinutes`: a default, bounds, and hostile values refused by name. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDiscordConfig } from '../../adapters/discord/config.js';
import { loadTelegramConfig } from '../../adapters/telegram/config.js';
import { isKomradeError } from '../../common/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'komrade-monitor-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ENV = {
  KOMRADE_TELEGRAM_TOKEN: '123456:ABCdef_ghi-jkl',
  KOMRADE_TELEGRAM_MASTER_KEY: 'ab'.repeat(32),
  KOMRADE_DISCORD_TOKEN: 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB',
  KOMRADE_DISCORD_MASTER_KEY: 'cd'.repeat(32),
};
const REQUIRED = 'operator:\n  url: http://127.0.0.1:8470\nstore:\n  dataDir: /tmp/x\n';

let files = 0;
const fileWith = (text: string): string => {
  const path = join(dir, `c${++files}.yaml`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};

describe('monitor.everyMinutes', () => {
  it('defaults to an hour on both bots, and takes 0 (at start only) to a week', () => {
    expect(loadTelegramConfig(fileWith(REQUIRED), ENV).config.monitor).toEqual({
      everyMinutes: 60,
    });
    expect(loadDiscordConfig(fileWith(REQUIRED), ENV).config.monitor).toEqual({ everyMinutes: 60 });
    for (const everyMinutes of [0, 5, 10_080]) {
      const yaml = `${REQUIRED}monitor:\n  everyMinutes: ${everyMinutes}\n`;
      expect(loadTelegramConfig(fileWith(yaml), ENV).config.monitor.everyMinutes).toBe(
        everyMinutes,
      );
    }
  });

  it('refuses a negative, huge, textual or unknown setting, naming the field', () => {
    for (const bad of [
      'everyMinutes: -1',
      'everyMinutes: 10081',
      'everyMinutes: soon',
      'often: 5',
    ]) {
      let thrown: unknown;
      try {
        loadTelegramConfig(fileWith(`${REQUIRED}monitor:\n  ${bad}\n`), ENV);
      } catch (error) {
        thrown = error;
      }
      expect(isKomradeError(thrown, 'CONFIG_INVALID'), bad).toBe(true);
      expect((thrown as Error).message).toContain('monitor');
    }
  });
});
