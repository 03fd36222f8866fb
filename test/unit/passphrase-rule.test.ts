/** One rule for new passphrases, whether the CLI or a chat bot takes them. */
import { describe, expect, it } from 'vitest';
import { MIN_PASSPHRASE_LENGTH, passphraseWeakness } from '../../client/index.js';

describe('passphraseWeakness', () => {
  it('accepts eight characters, counted as characters rather than bytes', () => {
    expect(MIN_PASSPHRASE_LENGTH).toBe(8);
    expect(passphraseWeakness('eight ch')).toBeUndefined();
    expect(passphraseWeakness('ĉĉĉĉĉĉĉĉ')).toBeUndefined();
    expect(passphraseWeakness('😀😀😀😀😀😀😀')).toMatch(/at least 8 characters/);
  });

  it('does not count spaces around it, so padding cannot make a short one long enough', () => {
    expect(passphraseWeakness('  short   ')).toMatch(/at least 8 characters/);
    expect(passphraseWeakness('        ')).toBe('The passphrase is empty.');
    expect(passphraseWeakness('')).toBe('The passphrase is empty.');
    expect(passphraseWeakness(' long enough ')).toBeUndefined();
  });
});
