import { encode } from 'cborg';
import { describe, expect, it } from 'vitest';
import { KomradeError } from '../../../common/errors/index.js';
import {
  TAGS,
  decodeCanonical,
  encodeCanonical,
  fromBase64url,
  toBase64url,
  unwrapSignedBytes,
} from '../../../common/wire/index.js';

const hex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s/g, ''), 'hex'));

function decodeError(bytes: Uint8Array): KomradeError {
  try {
    decodeCanonical(bytes, 'test');
  } catch (error) {
    if (error instanceof KomradeError) return error;
    throw error;
  }
  throw new Error('decoded without error');
}

describe('canonical CBOR', () => {
  it('round-trips plain data and is insertion-order independent', () => {
    const a = encodeCanonical({ z: 1, a: [1, 'x', new Uint8Array([9])], m: { b: true, a: null } });
    const b = encodeCanonical({ m: { a: null, b: true }, a: [1, 'x', new Uint8Array([9])], z: 1 });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(decodeCanonical(a, 'test')).toEqual({
      z: 1,
      a: [1, 'x', new Uint8Array([9])],
      m: { b: true, a: null },
    });
  });

  it.each([
    ['trailing bytes', 'a1616101 00'],
    ['a non-minimal integer', '1801'],
    ['an indefinite-length array', '9f01ff'],
    ['duplicate map keys', 'a2616101616102'],
    ['unsorted map keys', 'a2616201616101'],
    ['a tag', 'c11a514b67b0'],
    ['undefined', 'f7'],
    ['NaN', 'f97e00'],
    ['a truncated string', '6561'],
    ['nothing at all', ''],
  ])('refuses %s with DECODE_FAILED', (_what, bytes) => {
    expect(decodeError(hex(bytes)).code).toBe('DECODE_FAILED');
  });

  it('refuses a __proto__ key instead of polluting prototypes', () => {
    const evil = encode(new Map([['__proto__', { polluted: true }]]));
    expect(decodeError(evil).code).toBe('DECODE_FAILED');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('checks the domain tag of signed bytes', () => {
    const bytes = encodeCanonical([TAGS.post, { x: 1 }]);
    expect(unwrapSignedBytes(bytes, TAGS.post, 'p')).toEqual({ x: 1 });
    expect(() => unwrapSignedBytes(bytes, TAGS.letter, 'l')).toThrow(/wrong type tag/);
  });
});

describe('base64url', () => {
  it('round-trips', () => {
    const bytes = new Uint8Array([0, 255, 62, 63, 128]);
    expect(fromBase64url(toBase64url(bytes))).toEqual(bytes);
  });
  it.each(['ab=', 'a+b/', 'a', 'ab c', 'AB'])('refuses non-canonical %j', (text) => {
    // 'AB' decodes to one byte whose canonical encoding is 'AA': refuse the lax spelling.
    expect(fromBase64url(text)).toBeUndefined();
  });
});
