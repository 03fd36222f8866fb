/**
 * What canonical decoding costs on hostile input (many tiny items), and that the one-pass decoder
 * accepts exactly what the old decode-then-re-encode check accepted. Timings are printed, never
 * asserted: cost is checked by counting the full passes made over the input.
 */
import * as cborg from 'cborg';
import { performance } from 'node:perf_hooks';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { KomradeError } from '../../../common/errors/index.js';
import { decodeCanonical, encodeCanonical } from '../../../common/wire/index.js';

// Count calls into cborg: each is a full pass (and an object per item) over what it is given.
vi.mock('cborg', async (importOriginal) => {
  const real = await importOriginal<typeof cborg>();
  return { ...real, decode: vi.fn(real.decode), encode: vi.fn(real.encode) };
});
const decodeSpy = vi.mocked(cborg.decode);
const encodeSpy = vi.mocked(cborg.encode);

/** The check as it was: cborg's strict decode, a `__proto__`/depth scan, re-encode and compare. */
function referenceDecode(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  const hasProtoKey = (value: unknown, depth: number): boolean => {
    if (depth > 32) return true;
    if (Array.isArray(value)) return value.some((item) => hasProtoKey(item, depth + 1));
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
    if (Object.hasOwn(value, '__proto__')) return true;
    return Object.values(value).some((item) => hasProtoKey(item, depth + 1));
  };
  try {
    const value: unknown = cborg.decode(bytes, {
      strict: true,
      rejectDuplicateMapKeys: true,
      allowIndefinite: false,
      allowUndefined: false,
      allowInfinity: false,
      allowNaN: false,
      allowBigInt: false,
      tags: {},
    });
    if (hasProtoKey(value, 0)) return { ok: false };
    const again = cborg.encode(value, cborg.rfc8949EncodeOptions);
    return Buffer.from(again).equals(Buffer.from(bytes)) ? { ok: true, value } : { ok: false };
  } catch {
    return { ok: false };
  }
}

function ours(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: decodeCanonical(bytes, 'fuzz') };
  } catch (error) {
    if (!(error instanceof KomradeError) || error.code !== 'DECODE_FAILED') throw error;
    return { ok: false };
  }
}

/** A deterministic pseudo-random source, so a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomValue(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 7 : 9));
  const ints = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32, Number.MAX_SAFE_INTEGER];
  switch (pick) {
    case 0:
      return (ints[Math.floor(random() * ints.length)] ?? 1) * (random() < 0.3 ? -1 : 1) || 0;
    case 1:
      return ['', 'a', 'é', '\u{1f600}', 'x'.repeat(30), 'a\u2028b'][Math.floor(random() * 6)];
    case 2:
      return new Uint8Array(Math.floor(random() * 40)).map(() => Math.floor(random() * 256));
    case 3:
      return [true, false, null][Math.floor(random() * 3)];
    case 4:
      return [1.5, -0.25, 3.4028234663852886e38, 0.1, 65_504.5, 1e300][Math.floor(random() * 6)];
    case 5:
      return Math.floor(random() * 2 ** 31);
    case 6:
      return 'key';
    case 7:
      return Array.from({ length: Math.floor(random() * 5) }, () => randomValue(random, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 5); i > 0; i--) {
        out[['a', 'b', 'aa', 'z', '', 'é', 'long key'][Math.floor(random() * 7)]!] = randomValue(
          random,
          depth + 1,
        );
      }
      return out;
    }
  }
}

describe('one pass over the input', () => {
  beforeEach(() => {
    decodeSpy.mockClear();
    encodeSpy.mockClear();
  });

  it('decodes 64 KB of tiny items without a general decode or a re-encode', () => {
    const items = Array.from({ length: 32_768 }, () => [1]);
    const bytes = cborg.encode(items, cborg.rfc8949EncodeOptions);
    encodeSpy.mockClear();
    const started = performance.now();
    const decoded = decodeCanonical(bytes, 'tiny items');
    const ns = ((performance.now() - started) * 1e6) / bytes.length;
    expect(decoded).toEqual(items);
    process.stdout.write(`${bytes.length} bytes of [1] items: ${ns.toFixed(0)} ns per byte\n`);
    // The old check made two passes with an object per item (decode, then re-encode to compare).
    expect(decodeSpy).not.toHaveBeenCalled();
    expect(encodeSpy).not.toHaveBeenCalled();
  });
});

describe('the same accepted set as decode-then-re-encode', () => {
  it('agrees on 3,000 random values and 30,000 mutations of them', () => {
    const random = prng(0x5eed);
    let accepted = 0;
    for (let n = 0; n < 3_000; n++) {
      const value = randomValue(random, 0);
      const bytes = encodeCanonical(value);
      const good = ours(bytes);
      expect(good.ok, `seed case ${n}`).toBe(true);
      expect(good.ok && good.value).toEqual(referenceDecode(bytes).ok && value);
      for (let m = 0; m < 10; m++) {
        const mutated = new Uint8Array(bytes);
        const kind = random();
        let input: Uint8Array = mutated;
        if (kind < 0.6 && mutated.length > 0) {
          mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
        } else if (kind < 0.8) {
          input = mutated.subarray(0, Math.floor(random() * mutated.length));
        } else {
          input = new Uint8Array([...mutated, Math.floor(random() * 256)]);
        }
        const expected = referenceDecode(input);
        const actual = ours(input);
        expect(actual.ok, `case ${n}.${m}: ${Buffer.from(input).toString('hex')}`).toBe(
          expected.ok,
        );
        if (expected.ok && actual.ok) {
          accepted++;
          expect(actual.value).toEqual(expected.value);
        }
      }
    }
    process.stdout.write(`${accepted} mutated inputs were still canonical; both decoders agreed\n`);
  });

  it.each([
    ['a half float that is an integer', 'f93c00'],
    ['a half float -0', 'f98000'],
    ['a float64 that fits a float32', 'fb3ff8000000000000'],
    ['an integer beyond the safe range', '1b0020000000000000'],
    ['the most negative unsafe integer', '3b001fffffffffffff'],
    ['invalid UTF-8', '62c328'],
    ['a simple value', 'f820'],
    ['a non-text key', 'a10101'],
    ['an array claiming more items than bytes', '9a00010000'],
    ['a value 33 deep', `${'81'.repeat(33)}01`],
  ])('refuses %s, as before', (_what, hex) => {
    const bytes = new Uint8Array(Buffer.from(hex, 'hex'));
    expect(referenceDecode(bytes).ok).toBe(false);
    expect(ours(bytes).ok).toBe(false);
  });

  it.each([
    ['a half float', 'f93e00'],
    ['the most negative safe integer', '3b001ffffffffffffe'],
    ['a value 32 deep', `${'81'.repeat(32)}01`],
  ])('accepts %s, as before', (_what, hex) => {
    const bytes = new Uint8Array(Buffer.from(hex, 'hex'));
    const expected = referenceDecode(bytes);
    expect(expected.ok).toBe(true);
    expect(ours(bytes)).toEqual(expected);
  });

  it('accepts a text that starts with a BOM (the old check refused its own encoding of one)', () => {
    // cborg's decoder dropped a leading U+FEFF, so the re-encode no longer matched.
    const bytes = encodeCanonical('\ufeffhello');
    expect(referenceDecode(bytes).ok).toBe(false);
    expect(ours(bytes)).toEqual({ ok: true, value: '\ufeffhello' });
  });

  it('hands back bytes as a plain Uint8Array copy, even from a Buffer', () => {
    const input = Buffer.from(encodeCanonical({ b: new Uint8Array([1, 2, 3]) }));
    const value = decodeCanonical(input, 'bytes') as { b: Uint8Array };
    expect(value.b.constructor).toBe(Uint8Array);
    input.fill(0);
    expect([...value.b]).toEqual([1, 2, 3]);
  });
});
