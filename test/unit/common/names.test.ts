import { describe, expect, it } from 'vitest';
import {
  RESERVED_NAMES,
  isCanonicalName,
  nameSkeleton,
  parseName,
  parseNewName,
} from '../../../common/wire/index.js';

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

  it.each([
    ['k0mrades', 'komrades', '0 for o'],
    ['a1ice', 'alice', '1 for l'],
    ['aiice', 'alice', 'i for l'],
    ['a11ce', 'alice', '1 for l and for i'],
    ['h3lp', 'help', '3 for e'],
    ['4dmin', 'admin', '4 for a'],
    ['5taff', 'staff', '5 for s'],
    ['7or', 'tor', '7 for t'],
    ['admln', 'admin', 'l for i'],
    ['komrades_', 'komrades', 'a trailing underscore'],
    ['_k_o_m_', 'kom', 'underscores anywhere'],
    ['KOMRADES', 'komrades', 'capitals'],
    ['kornrades', 'komrades', 'rn for m'],
    ['vvendy', 'wendy', 'vv for w'],
    ['vvvvv', 'wvw', 'a run of v cut anywhere'],
    ['vwv', 'wvv', 'w and vv in either order'],
    ['rnrn', 'mm', 'rn twice'],
    ['rnm', 'mrn', 'rn and m in either order'],
  ])('gives %s the skeleton of %s (%s)', (lookAlike, original) => {
    expect(nameSkeleton(lookAlike)).toBe(nameSkeleton(original));
  });

  it.each([
    ['alice', 'alicia'],
    ['bob', 'b0bb'],
    ['anna', 'arma'],
    ['vw', 'ww'],
    ['ron', 'rnn'],
    ['r2d2', 'rzdz'],
    ['mn', 'rm'],
  ])('keeps %s and %s apart', (a, b) => {
    expect(nameSkeleton(a)).not.toBe(nameSkeleton(b));
  });

  it('does not depend on where a run of v is cut', () => {
    expect(['vvv', 'vw', 'wv'].map(nameSkeleton)).toEqual(['vvv', 'vvv', 'vvv']);
  });

  it('maps each rule to one fixed form', () => {
    expect(nameSkeleton('k0mrades')).toBe('kornrades');
    expect(nameSkeleton('Wi1l_5')).toBe('vvllls');
    expect(nameSkeleton('0134579_mw')).toBe('oleast9rnvv');
  });

  it.each(['k0mrades', 'a1ice_', 'vvwvw', 'rnmrn', 'Iw_3', 'plain', '___'])(
    'is idempotent on %s',
    (name) => {
      const once = nameSkeleton(name);
      expect(nameSkeleton(once)).toBe(once);
    },
  );

  it.each([
    'k0mrades',
    'operat0r',
    'admln',
    'r00t',
    'komrades_',
    '4ll',
    'nu11',
    'rnod',
    's3curity',
  ])('refuses %s, a look-alike of a reserved name, as NAME_RESERVED without naming it', (name) => {
    const parsed = parseNewName(name);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe('NAME_RESERVED');
      expect(parsed.error.message).toBe('That name looks like a reserved name; choose another.');
    }
    // Looking such a name up is still fine: only new names are refused.
    expect(parseName(name).ok).toBe(true);
  });

  it('refuses a look-alike of every reserved name', () => {
    for (const reserved of RESERVED_NAMES) {
      const lookAlike = `${reserved.replace(/o/g, '0').replace(/l/g, '1')}_`;
      expect(parseNewName(lookAlike).ok).toBe(false);
    }
  });

  it.each(['alice', 'komradez', 'operators', 'adm1nistrat0rs', 'roots'])(
    'still accepts %s, which looks like no reserved name',
    (name) => {
      expect(parseNewName(name)).toEqual({ ok: true, value: name });
    },
  );

  it('knows canonical form', () => {
    expect(isCanonicalName('alice')).toBe(true);
    expect(isCanonicalName('Alice')).toBe(false);
    expect(isCanonicalName('@alice')).toBe(false);
  });
});
