/**
 * The bots' `mail` config: how many identities one wait covers (`waitGroupSize`) and the fallback
 * polling interval, for both adapters; bad values are refused naming the field, never the value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDiscordConfig } from '../../adapters/discord/config.js';
import { loadTelegramConfig } from '../../adapters/telegram/config.js';
import { isKomradeError } from '../../common/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'komrade-mail-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const KEY = 'ab'.repeat(32);
const ADAPTERS = [
  {
    name: 'telegram',
    load: (path: string) =>
      loadTelegramConfig(path, {
        KOMRADE_TELEGRAM_TOKEN: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1',
        KOMRADE_TELEGRAM_MASTER_KEY: KEY,
      }),
  },
  {
    name: 'discord',
    load: (path: string) =>
      loadDiscordConfig(path, {
        KOMRADE_DISCORD_TOKEN:
          'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB',
        KOMRADE_DISCORD_MASTER_KEY: KEY,
      }),
  },
] as const;
const REQUIRED = 'operator:\n  url: http://127.0.0.1:8470\nstore:\n  dataDir: /var/lib/komrade\n';

let files = 0;
function fileWith(text: string): string {
  const path = join(dir, `f${++files}.yaml`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

describe.each(ADAPTERS)('$name config: mail', ({ load }) => {
  it('groups 1,000 identities per wait and polls every 30 s as a fallback by default', () => {
    expect(load(fileWith(REQUIRED)).config.mail).toEqual({
      pollIntervalSeconds: 30,
      waitGroupSize: 1_000,
    });
  });

  it('takes one identity per wait (unlinkable) and any size up to 1,000', () => {
    for (const size of [1, 17, 1_000]) {
      const { config } = load(fileWith(`${REQUIRED}mail:\n  waitGroupSize: ${size}\n`));
      expect(config.mail).toEqual({ pollIntervalSeconds: 30, waitGroupSize: size });
    }
  });

  it('refuses a group size that is not a whole number from 1 to 1,000, naming the field only', () => {
    for (const bad of ['0', '-3', '1001', '2.5', "'ten'", 'null']) {
      let message = '';
      try {
        load(fileWith(`${REQUIRED}mail:\n  waitGroupSize: ${bad}\n`));
      } catch (error) {
        expect(isKomradeError(error, 'CONFIG_INVALID')).toBe(true);
        message = (error as Error).message;
      }
      expect(message).toContain('mail.waitGroupSize');
      // The file path before the field is random (a temp dir, f10.yaml), so look only after
      // the field, and at the value as a whole token: "<=1000" must not count as echoing "0".
      const detail = message.slice(message.indexOf('mail.waitGroupSize'));
      const value = bad.replaceAll("'", '').replaceAll('.', '\\.');
      if (bad !== 'null') expect(detail).not.toMatch(new RegExp(`(^|[^\\w.-])${value}($|[^\\w.])`));
    }
  });

  it('refuses unknown keys in the mail section', () => {
    expect(() => load(fileWith(`${REQUIRED}mail:\n  waitGroupsize: 10\n`))).toThrow(
      /waitGroupsize/,
    );
  });
});
