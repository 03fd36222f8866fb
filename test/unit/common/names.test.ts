import { describe, expect, it } from 'vitest';
import { isCanonicalName, parseName, parseNewName } from '../../../common/wire/index.js';

describe('names', () => {
  it.each([
    ['alice', 'alice'],
    ['@Alice', 'alice'],
    ['ALICE_99', 'alice_99'],
    ['abc', 'abc'],
    ['a'.repeat(32), 'a'.repeat(32)],
  ])('folds %s to %s', (input, expected) => {
    const parsed = parseName(input);
    expect(parsed).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['@', 'only the sigil'],
    ['ab', 'too short'],
    ['a'.repeat(33), 'too long'],
    ['al ice', 'a space'],
    [' alice', 'a leading space'],
    ['\u0430lice', 'a Cyrillic а look-alike'],
    ['\uff41lice', 'a fullwidth ａ'],
    ['alice\u200b', 'a zero-width space'],
    ['ali\u0301ce', 'a combining accent'],
    ['ålice', 'an accented letter'],
    ['alice-b', 'a hyphen'],
    ['alice.b', 'a dot'],
    ['İstanbul', 'a dotted capital I (folds to two code points in some locales)'],
    ['K\u212Aelvin', 'the Kelvin sign'],
    ['@@alice', 'two sigils'],
  ])('refuses %j (%s) with NAME_INVALID', (input) => {
    const parsed = parseName(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe('NAME_INVALID');
      expect(parsed.error.message).not.toContain(input.length > 0 ? input : '\u0000');
    }
  });

  it.each(['komrades', '@Operator', 'ADMIN', 'root'])('refuses reserved %s for new names', (n) => {
    const parsed = parseNewName(n);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.code).toBe('NAME_RESERVED');
    // ...but a reserved name is still a well-formed name to look up.
    expect(parseName(n).ok).toBe(true);
  });

  it('knows canonical form', () => {
    expect(isCanonicalName('alice')).toBe(true);
    expect(isCanonicalName('Alice')).toBe(false);
    expect(isCanonicalName('@alice')).toBe(false);
  });
});
