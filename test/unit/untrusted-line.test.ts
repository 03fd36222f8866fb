/** `untrustedLine`: how every surface shows a join note, someone else's words. */
import { describe, expect, it } from 'vitest';
import { untrustedLine } from '../../client/index.js';

describe('untrustedLine', () => {
  it('keeps ordinary text as it is', () => {
    expect(untrustedLine('Rosa, from the tenants union')).toBe('Rosa, from the tenants union');
    expect(untrustedLine('')).toBe('');
  });

  it('turns controls, line breaks and invisible or bidi marks into single spaces', () => {
    expect(untrustedLine('a\u001b[2Jb\u0007c\r\nd\te\u0085f')).toBe('a [2Jb c d e f');
    expect(untrustedLine('evil\u202Etxt.exe \u2066x\u2069 zero\u200Bwidth\uFEFF')).toBe(
      'evil txt.exe x zero width',
    );
    expect(untrustedLine('  \n  padded \u0000 ')).toBe('padded');
  });

  it('bounds the length by characters as read, never cutting one in half', () => {
    const long = 'w'.repeat(500);
    const cut = untrustedLine(long);
    expect(cut).toBe(`${'w'.repeat(199)}…`);
    expect(cut.endsWith('w…')).toBe(true);
    expect(untrustedLine('abcdef', 6)).toBe('abcdef');
    expect(untrustedLine('abcdefg', 6)).toBe('abcde…');
    // An accented letter made of two code points, and a family emoji of seven, stay whole.
    const accented = 'e\u0301'.repeat(10);
    expect(untrustedLine(accented, 4)).toBe(`${'e\u0301'.repeat(3)}…`);
    const family = '👩‍👩‍👧‍👦'.repeat(5);
    expect(untrustedLine(family, 3)).toBe(`${'👩‍👩‍👧‍👦'.repeat(2)}…`);
  });
});
