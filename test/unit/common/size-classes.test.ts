/** Size classes: padding to a class, and refusing every malformed padding without a throw. */
import { describe, expect, it } from 'vitest';
import {
  AEAD_NONCE_BYTES,
  SEAL_OVERHEAD_BYTES as CRYPTO_SEAL_OVERHEAD_BYTES,
  generateIdentityKeys,
  openSeal,
  pad,
  randomBytes,
  seal,
  unpad,
} from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import {
  LARGEST_SIZE_CLASS,
  SEALED_SIZE_CLASSES,
  SEAL_OVERHEAD_BYTES,
  isSealedSizeClass,
  largestPaddablePlaintext,
  padToSizeClass,
  sizeClassFor,
  unpadFromSizeClass,
} from '../../../common/wire/index.js';

const AEAD_OVERHEAD = AEAD_NONCE_BYTES + 16;

describe('size classes', () => {
  it('are 1, 4, 16 and 64 KiB of sealed length, and the seal adds what libsodium adds', () => {
    expect(SEALED_SIZE_CLASSES).toEqual([1_024, 4_096, 16_384, 65_536]);
    expect(LARGEST_SIZE_CLASS).toBe(65_536);
    expect(SEAL_OVERHEAD_BYTES).toBe(CRYPTO_SEAL_OVERHEAD_BYTES);
    const keys = generateIdentityKeys();
    expect(seal(new Uint8Array(100), keys.boxPublic).length).toBe(100 + SEAL_OVERHEAD_BYTES);
    expect(isSealedSizeClass(4_096)).toBe(true);
    expect(isSealedSizeClass(4_095)).toBe(false);
  });

  it('picks the smallest class that holds the plaintext, its marker and the overhead', () => {
    expect(sizeClassFor(0)).toBe(1_024);
    let below = 0;
    for (const size of SEALED_SIZE_CLASSES) {
      const room = size - SEAL_OVERHEAD_BYTES - 1;
      expect(sizeClassFor(below)).toBe(size);
      expect(sizeClassFor(room - 1)).toBe(size);
      expect(sizeClassFor(room)).toBe(size);
      expect(sizeClassFor(room + 1)).toBe(
        size === LARGEST_SIZE_CLASS
          ? undefined
          : SEALED_SIZE_CLASSES[SEALED_SIZE_CLASSES.indexOf(size) + 1],
      );
      below = room + 1;
    }
    expect(sizeClassFor(1_024 - AEAD_OVERHEAD - 1, AEAD_OVERHEAD)).toBe(1_024);
    expect(sizeClassFor(1_024 - AEAD_OVERHEAD, AEAD_OVERHEAD)).toBe(4_096);
    expect(largestPaddablePlaintext()).toBe(65_536 - 48 - 1);
  });

  it('pads to exactly a class less the overhead, and unpads back to the same bytes', () => {
    for (const overhead of [SEAL_OVERHEAD_BYTES, AEAD_OVERHEAD]) {
      for (const size of SEALED_SIZE_CLASSES) {
        const room = size - overhead - 1;
        for (const length of [0, 1, room - 1, room]) {
          const plain = randomBytes(length);
          const padded = padToSizeClass(plain, overhead);
          expect(padded.length + overhead).toBe(sizeClassFor(length, overhead));
          expect(unpadFromSizeClass(padded, overhead)).toEqual(plain);
        }
      }
    }
  });

  it('seals a padded plaintext to exactly its class', () => {
    const keys = generateIdentityKeys();
    for (const length of [0, 975, 976, 4_047, 4_048, 65_487]) {
      const sealed = seal(padToSizeClass(randomBytes(length)), keys.boxPublic);
      expect(isSealedSizeClass(sealed.length)).toBe(true);
      expect(sealed.length).toBe(sizeClassFor(length));
      const opened = openSeal(sealed, keys.boxPublic, keys.boxSecret)!;
      expect(unpadFromSizeClass(opened)!.length).toBe(length);
    }
  });

  it('refuses a plaintext too large for the largest class with a clear error', () => {
    const tooBig = new Uint8Array(largestPaddablePlaintext() + 1);
    expect(() => padToSizeClass(tooBig)).toThrow(KomradeError);
    try {
      padToSizeClass(tooBig);
    } catch (error) {
      expect((error as KomradeError).code).toBe('LETTER_TOO_LARGE');
      expect((error as KomradeError).message).toMatch(/at most 65487 fit/);
    }
  });
});

describe('malformed padding is refused, never thrown', () => {
  const room = 1_024 - SEAL_OVERHEAD_BYTES;

  it('refuses all zeros, a missing marker and a stray byte after the marker', () => {
    expect(unpadFromSizeClass(new Uint8Array(room))).toBeUndefined();
    const noMarker = new Uint8Array(room);
    noMarker.set(randomBytes(100).map((b) => b | 1));
    expect(unpadFromSizeClass(noMarker)).toBeUndefined();
    const stray = padToSizeClass(randomBytes(100));
    stray[room - 1] = 0x01;
    expect(unpadFromSizeClass(stray)).toBeUndefined();
    const markerThenJunk = padToSizeClass(randomBytes(100));
    markerThenJunk[500] = 0x7f;
    expect(unpadFromSizeClass(markerThenJunk)).toBeUndefined();
  });

  it('accepts a buffer whose last byte is the marker (nothing but it as padding)', () => {
    const full = randomBytes(room);
    full[room - 1] = 0x80;
    expect(unpadFromSizeClass(full)).toEqual(full.subarray(0, room - 1));
  });

  it('refuses any length that is not a class less the overhead', () => {
    for (const length of [0, 1, room - 1, room + 1, 4_096, 65_536, 70_000]) {
      const buffer = new Uint8Array(length);
      if (length > 0) buffer[0] = 0x80;
      expect(unpadFromSizeClass(buffer)).toBeUndefined();
    }
  });

  it('never reads past the buffer it is given, nor before it', () => {
    // A valid marker sits just after the view: a reader that strayed would find it.
    const after = new Uint8Array(room + 16);
    after[room] = 0x80;
    expect(unpadFromSizeClass(after.subarray(0, room))).toBeUndefined();
    // And just before it.
    const before = new Uint8Array(room + 1);
    before[0] = 0x80;
    expect(unpadFromSizeClass(before.subarray(1))).toBeUndefined();
    // A correct padding in a view of a larger buffer still unpads to exactly its own bytes.
    const padded = padToSizeClass(new TextEncoder().encode('inside'));
    const host = new Uint8Array(room + 64).fill(0x80);
    host.set(padded, 32);
    const view = host.subarray(32, 32 + room);
    expect(new TextDecoder().decode(unpadFromSizeClass(view))).toBe('inside');
    expect(host[31]).toBe(0x80);
  });

  it('survives random buffers of every class without a throw', () => {
    for (const size of SEALED_SIZE_CLASSES) {
      for (let i = 0; i < 20; i++) {
        const junk = randomBytes(size - SEAL_OVERHEAD_BYTES);
        const result = unpadFromSizeClass(junk);
        // Random bytes unpad only when they happen to end in 0x80 after zeros.
        if (result !== undefined) expect(junk[result.length]).toBe(0x80);
      }
    }
  });

  it('low-level unpad refuses a bad block size or a length that is not whole blocks', () => {
    expect(unpad(pad(new Uint8Array(3), 16), 16)).toEqual(new Uint8Array(3));
    expect(unpad(new Uint8Array(15), 16)).toBeUndefined();
    expect(unpad(new Uint8Array(0), 16)).toBeUndefined();
    expect(unpad(new Uint8Array(16), 0)).toBeUndefined();
    expect(unpad(new Uint8Array(16), -1)).toBeUndefined();
    expect(unpad(new Uint8Array(16), 1.5)).toBeUndefined();
    expect(() => pad(new Uint8Array(3), 0)).toThrow(RangeError);
  });
});
