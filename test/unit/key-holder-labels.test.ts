/** Every surface shows a key-holder label it has never heard of as itself, never as `undefined`. */
import { describe, expect, it } from 'vitest';
import { renderProfile } from '../../adapters/cli/render.js';
import { puppetName } from '../../adapters/discord/texts.js';
import { keyHolderMark } from '../../adapters/telegram/texts.js';
import { trustLabel } from '../../bridge/index.js';

describe('a label added after the surfaces were written (matrix)', () => {
  it('is named by the CLI, the Telegram bot, the Discord bot and the trust label', () => {
    const profile = renderProfile({
      name: 'mx_max',
      registeredAt: 1_700_000_000_000,
      keyHolder: 'matrix',
      signKey: 'k',
      boxKey: 'b',
    });
    expect(profile).toContain('keys held by: a matrix bridge');
    expect(keyHolderMark('matrix')).toBe('🤖 keys held by a matrix bridge');
    expect(puppetName('mx_max', 'matrix')).toBe('@mx_max (matrix)');
    expect(trustLabel('matrix')).toBe('matrix');
    for (const text of [profile, keyHolderMark('matrix'), puppetName('mx_max', 'matrix')]) {
      expect(text).not.toContain('undefined');
    }
  });

  it('keeps the names of the labels of the day', () => {
    expect(keyHolderMark('telegram')).toBe('🤖 keys held by a Telegram bridge');
    expect(puppetName('dc_dee', 'discord')).toBe('@dc_dee (dc bridge)');
    expect(keyHolderMark('self')).toBeUndefined();
  });
});
