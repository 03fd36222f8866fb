/**
 * Hashcash-style proof of work for registration: find an 8-byte nonce so that
 * BLAKE2b-256(claim bytes ‖ nonce) starts with `bits` zero bits. Expected work: 2^bits hashes.
 */
import { blake2b } from '../crypto/index.js';
import { POW_NONCE_BYTES } from './limits.js';

/** Number of leading zero bits of `hash`. */
export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

function hashWithNonce(buffer: Uint8Array, prefixLength: number, nonce: Uint8Array): Uint8Array {
  buffer.set(nonce, prefixLength);
  return blake2b(buffer, 32);
}

/** True when `nonce` meets `bits` for `claimBytes`. */
export function checkProofOfWork(claimBytes: Uint8Array, nonce: Uint8Array, bits: number): boolean {
  if (nonce.length !== POW_NONCE_BYTES) return false;
  const buffer = new Uint8Array(claimBytes.length + POW_NONCE_BYTES);
  buffer.set(claimBytes, 0);
  return leadingZeroBits(hashWithNonce(buffer, claimBytes.length, nonce)) >= bits;
}

/** Progress of a proof-of-work search. */
export interface PowProgress {
  readonly tried: number;
  /** Hashes expected on average for this difficulty. */
  readonly expected: number;
}

/** Options for {@link solveProofOfWork}. */
export interface SolveOptions {
  /** Called about every 64k hashes. */
  readonly onProgress?: (progress: PowProgress) => void;
  readonly signal?: AbortSignal;
}

/** Searches for a nonce, yielding to the event loop between chunks so progress can render. */
export async function solveProofOfWork(
  claimBytes: Uint8Array,
  bits: number,
  options: SolveOptions = {},
): Promise<Uint8Array> {
  const buffer = new Uint8Array(claimBytes.length + POW_NONCE_BYTES);
  buffer.set(claimBytes, 0);
  const nonce = new Uint8Array(POW_NONCE_BYTES);
  const view = new DataView(nonce.buffer);
  const expected = 2 ** bits;
  const chunk = 65_536;
  for (let tried = 0; ;) {
    options.signal?.throwIfAborted();
    for (let i = 0; i < chunk; i++, tried++) {
      view.setUint32(0, tried >>> 0, true);
      view.setUint32(4, Math.floor(tried / 4_294_967_296), true);
      if (leadingZeroBits(hashWithNonce(buffer, claimBytes.length, nonce)) >= bits) {
        return nonce.slice();
      }
    }
    options.onProgress?.({ tried, expected });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
