/** Deterministic CBOR (RFC 8949 §4.2.1 core deterministic encoding) and a strict decoder. */
import { encode, rfc8949EncodeOptions } from 'cborg';
import { KomradeError } from '../errors/index.js';

/** Deepest nesting a decoded value may have (the root is depth 0). */
export const MAX_CANONICAL_DEPTH = 32;

/** Encodes `value` deterministically: same value, same bytes, on every machine. */
export function encodeCanonical(value: unknown): Uint8Array {
  return encode(value, rfc8949EncodeOptions);
}

/**
 * Decodes CBOR that must be in canonical form. Anything else (trailing bytes, indefinite lengths,
 * duplicate keys, tags, non-canonical encodings, a `__proto__` key anywhere) throws
 * `DECODE_FAILED`. The result is plain data: decoding cannot pollute prototypes or run code.
 *
 * One pass that checks each item's canonical form as it reads it, rather than a general decoder
 * followed by a re-encode to compare: that cost about 0.8 ms per KB of tiny items, and clients
 * decode letters and pages from anyone. The accepted set is the same: definite lengths, shortest
 * arguments, text keys in bytewise order of their encoding, floats only in the shortest form that
 * cborg's RFC 8949 encoder writes, no tags, no `undefined`, NaN or Infinity, safe integers only.
 */
export function decodeCanonical(bytes: Uint8Array, what: string): unknown {
  const reader = new CanonicalReader(bytes, what);
  const value = reader.item(0);
  if (reader.pos !== bytes.length) reader.fail('is not valid CBOR (trailing bytes)');
  return value;
}

/** Constant-shape byte comparison (not secret-dependent timing: use it for public data only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TWO_32 = 2 ** 32;
/** Shortest-argument floors for additional info 24, 25, 26 and 27. */
const FLOORS = [24, 256, 65_536, TWO_32] as const;

/** Reads one canonical item at a time; `pos` is the next unread byte. */
class CanonicalReader {
  pos = 0;
  readonly #view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(reason: string): never {
    throw new KomradeError('DECODE_FAILED', `${this.what} ${reason}`);
  }

  #need(count: number): void {
    if (count > this.bytes.length - this.pos) this.fail('is not valid CBOR (truncated)');
  }

  /** The argument of a head with additional info `info`, in its shortest form. */
  #argument(info: number): number {
    if (info < 24) return info;
    const view = this.#view;
    const at = this.pos;
    let value: number;
    switch (info) {
      case 24:
        this.#need(1);
        value = view.getUint8(at);
        this.pos += 1;
        break;
      case 25:
        this.#need(2);
        value = view.getUint16(at);
        this.pos += 2;
        break;
      case 26:
        this.#need(4);
        value = view.getUint32(at);
        this.pos += 4;
        break;
      case 27: {
        this.#need(8);
        const high = view.getUint32(at);
        // Above 2^53 - 1 a number loses precision: refused, as cborg without BigInt does.
        if (high > 0x1f_ffff) this.fail('is not valid CBOR (an integer beyond the safe range)');
        value = high * TWO_32 + view.getUint32(at + 4);
        this.pos += 8;
        break;
      }
      case 31:
        return this.fail('is not valid CBOR (an indefinite length)');
      default:
        return this.fail('is not valid CBOR (a reserved value)');
    }
    if (value < (FLOORS[info - 24] ?? 0)) {
      this.fail('is not in canonical form (a longer head than needed)');
    }
    return value;
  }

  /** Decodes one item at nesting `depth`. */
  item(depth: number): unknown {
    if (depth > MAX_CANONICAL_DEPTH) this.fail('is nested too deeply');
    this.#need(1);
    const start = this.pos;
    const head = this.bytes[this.pos++] ?? 0;
    const major = head >> 5;
    const info = head & 31;
    if (major === 7) return this.#simple(info, start);
    const argument = this.#argument(info);
    switch (major) {
      case 0:
        return argument;
      case 1:
        if (argument === Number.MAX_SAFE_INTEGER) {
          this.fail('is not valid CBOR (an integer beyond the safe range)');
        }
        return -1 - argument;
      case 2: {
        this.#need(argument);
        const out = this.bytes.slice(this.pos, this.pos + argument);
        this.pos += argument;
        // A Buffer's slice is a view: always hand back a copy as a plain Uint8Array.
        return out.constructor === Uint8Array ? out : new Uint8Array(out);
      }
      case 3:
        return this.#text(argument);
      case 4: {
        // Every item takes a byte at least: a longer claimed length is a lie, refused before
        // anything is allocated for it.
        this.#need(argument);
        const out: unknown[] = new Array<unknown>(argument);
        for (let i = 0; i < argument; i++) out[i] = this.item(depth + 1);
        return out;
      }
      case 5:
        return this.#map(argument, depth);
      default:
        return this.fail('is not valid CBOR (a tag)');
    }
  }

  #text(length: number): string {
    this.#need(length);
    const bytes = this.bytes;
    const start = this.pos;
    const end = start + length;
    this.pos = end;
    if (length <= 64) {
      let ascii = '';
      let i = start;
      for (; i < end; i++) {
        const byte = bytes[i] ?? 0;
        if (byte >= 0x80) break;
        ascii += String.fromCharCode(byte);
      }
      if (i === end) return ascii;
    }
    try {
      // Fatal: invalid UTF-8 would come back as U+FFFD and no longer match its bytes.
      return utf8.decode(bytes.subarray(start, end));
    } catch {
      return this.fail('is not valid CBOR (a text that is not UTF-8)');
    }
  }

  #map(entries: number, depth: number): Record<string, unknown> {
    this.#need(entries * 2);
    const out: Record<string, unknown> = {};
    const bytes = this.bytes;
    let previousStart = -1;
    let previousEnd = -1;
    for (let i = 0; i < entries; i++) {
      const keyStart = this.pos;
      this.#need(1);
      const keyHead = bytes[keyStart] ?? 0;
      if (keyHead >> 5 !== 3) this.fail('is not valid CBOR (a key that is not text)');
      this.pos++;
      const key = this.#text(this.#argument(keyHead & 31));
      const keyEnd = this.pos;
      if (previousStart >= 0) {
        const order = compareBytes(bytes, previousStart, previousEnd, keyStart, keyEnd);
        if (order === 0) this.fail('is not valid CBOR (a duplicate key)');
        if (order > 0) this.fail('is not in canonical form (keys out of order)');
      }
      previousStart = keyStart;
      previousEnd = keyEnd;
      // Later, Object.assign would turn it into a prototype write: refused outright.
      if (key === '__proto__') this.fail('has a forbidden key (__proto__)');
      out[key] = this.item(depth + 1);
    }
    return out;
  }

  #simple(info: number, start: number): unknown {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 25:
      case 26:
      case 27: {
        const size = info === 25 ? 2 : info === 26 ? 4 : 8;
        this.#need(size);
        const at = this.pos;
        const value =
          size === 2
            ? halfFloat(this.#view.getUint16(at))
            : size === 4
              ? this.#view.getFloat32(at)
              : this.#view.getFloat64(at);
        this.pos += size;
        if (!Number.isFinite(value)) this.fail('is not valid CBOR (NaN or Infinity)');
        // Floats are rare (Komrade sends none): the encoder itself says what the shortest is.
        const again = encode(value, rfc8949EncodeOptions);
        if (!bytesEqual(again, this.bytes.subarray(start, this.pos))) {
          this.fail('is not in canonical form (a float)');
        }
        return value;
      }
      case 23:
        return this.fail('is not valid CBOR (undefined)');
      default:
        return this.fail('is not valid CBOR (a simple value)');
    }
  }
}

/** Bytewise order of `bytes[a..aEnd)` against `bytes[b..bEnd)`: negative, 0 or positive. */
function compareBytes(bytes: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): number {
  const length = Math.min(aEnd - a, bEnd - b);
  for (let i = 0; i < length; i++) {
    const diff = (bytes[a + i] ?? 0) - (bytes[b + i] ?? 0);
    if (diff !== 0) return diff;
  }
  return aEnd - a - (bEnd - b);
}

/** An IEEE 754 half-precision float from its 16 bits. */
function halfFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (mantissa + 1024) * 2 ** (exponent - 25);
}
