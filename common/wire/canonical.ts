/** Deterministic CBOR (RFC 8949 §4.2.1 core deterministic encoding) and a strict decoder. */
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { KomradeError } from '../errors/index.js';

const decodeOptions = Object.freeze({
  strict: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  // No tags: nothing in Komrade is tagged, and a tag could smuggle in a decoder.
  tags: {},
});

/** Encodes `value` deterministically: same value, same bytes, on every machine. */
export function encodeCanonical(value: unknown): Uint8Array {
  return encode(value, rfc8949EncodeOptions);
}

/**
 * Decodes CBOR that must be in canonical form. Anything else (trailing bytes, indefinite lengths,
 * duplicate keys, tags, non-canonical encodings, a `__proto__` key anywhere) throws
 * `DECODE_FAILED`. The result is plain data: decoding cannot pollute prototypes or run code.
 */
export function decodeCanonical(bytes: Uint8Array, what: string): unknown {
  let value: unknown;
  try {
    value = decode(bytes, decodeOptions);
  } catch (cause) {
    throw new KomradeError('DECODE_FAILED', `${what} is not valid CBOR`, { cause });
  }
  if (hasProtoKey(value, 0)) {
    throw new KomradeError('DECODE_FAILED', `${what} has a forbidden key or is nested too deeply`);
  }
  const again = encodeCanonical(value);
  if (!bytesEqual(again, bytes)) {
    throw new KomradeError('DECODE_FAILED', `${what} is not in canonical form`);
  }
  return value;
}

/** Constant-shape byte comparison (not secret-dependent timing: use it for public data only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A `__proto__` key would later turn `Object.assign` into a prototype write: refuse it outright. */
function hasProtoKey(value: unknown, depth: number): boolean {
  if (depth > 32) return true;
  if (Array.isArray(value)) return value.some((item) => hasProtoKey(item, depth + 1));
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  if (Object.hasOwn(value, '__proto__')) return true;
  return Object.values(value).some((item) => hasProtoKey(item, depth + 1));
}
