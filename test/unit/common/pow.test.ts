import { describe, expect, it } from 'vitest';
import { generateIdentityKeys } from '../../../common/crypto/index.js';
import {
  checkProofOfWork,
  claimBytesForPow,
  leadingZeroBits,
  solveProofOfWork,
} from '../../../common/wire/index.js';

describe('proof of work', () => {
  it('counts leading zero bits', () => {
    expect(leadingZeroBits(new Uint8Array([0, 0, 1]))).toBe(23);
    expect(leadingZeroBits(new Uint8Array([0x80]))).toBe(0);
    expect(leadingZeroBits(new Uint8Array([0x0f, 0]))).toBe(4);
    expect(leadingZeroBits(new Uint8Array([0, 0]))).toBe(16);
  });

  it('solves, reports progress, and binds the proof to the claim', async () => {
    const keys = generateIdentityKeys();
    const claim = {
      name: 'alice',
      signKey: keys.signPublic,
      boxKey: keys.boxPublic,
      keyHolder: 'self' as const,
      ratchetKey: Uint8Array.of(0x05, ...new Uint8Array(32).fill(7)),
    };
    const progress: number[] = [];
    const nonce = await solveProofOfWork(claimBytesForPow(claim), 17, {
      onProgress: (p) => progress.push(p.tried),
    });
    expect(checkProofOfWork(claimBytesForPow(claim), nonce, 17)).toBe(true);
    // Progress is monotonic whenever the search took more than one chunk.
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    // The same nonce does not serve another name or other keys.
    const other = { ...claim, name: 'alicf' };
    const otherKeys = { ...claim, boxKey: generateIdentityKeys().boxPublic };
    const otherHolder = { ...claim, keyHolder: 'telegram' as const };
    const otherRatchet = { ...claim, ratchetKey: Uint8Array.of(0x05, ...new Uint8Array(32)) };
    const reused = [other, otherKeys, otherHolder, otherRatchet].filter((c) =>
      checkProofOfWork(claimBytesForPow(c), nonce, 17),
    );
    expect(reused.length).toBe(0);
    expect(checkProofOfWork(claimBytesForPow(claim), nonce.subarray(0, 7), 0)).toBe(false);
  });

  it('stops when aborted', async () => {
    const keys = generateIdentityKeys();
    const claim = claimBytesForPow({
      name: 'bob',
      signKey: keys.signPublic,
      boxKey: keys.boxPublic,
      keyHolder: 'self',
      ratchetKey: null,
    });
    const controller = new AbortController();
    const solving = solveProofOfWork(claim, 40, {
      signal: controller.signal,
      onProgress: () => {
        controller.abort();
      },
    });
    await expect(solving).rejects.toThrow();
  });
});
