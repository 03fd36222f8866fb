import { describe, expect, it } from 'vitest';
import { VerifiedWaitProofs } from '../../operator/mail/verified-wait-proofs.js';

describe('VerifiedWaitProofs', () => {
  const key = (n: number) =>
    VerifiedWaitProofs.keyOf(`k${n}`, n, new Uint8Array(64).fill(n), new Uint8Array(32));

  it('remembers a proof until it expires, then forgets it', () => {
    const proofs = new VerifiedWaitProofs();
    proofs.add(key(1), 100, 0);
    expect(proofs.has(key(1), 100)).toBe(true);
    expect(proofs.has(key(2), 100)).toBe(false);
    expect(proofs.has(key(1), 101)).toBe(false);
    expect(proofs.size).toBe(0);
  });

  it('keys on every byte that was verified', () => {
    const sig = new Uint8Array(64);
    const signKey = new Uint8Array(32);
    const base = VerifiedWaitProofs.keyOf('bob', 5, sig, signKey);
    expect(VerifiedWaitProofs.keyOf('bob', 6, sig, signKey)).not.toBe(base);
    expect(VerifiedWaitProofs.keyOf('bot', 5, sig, signKey)).not.toBe(base);
    expect(VerifiedWaitProofs.keyOf('bob', 5, sig.slice().fill(1, 63), signKey)).not.toBe(base);
    expect(VerifiedWaitProofs.keyOf('bob', 5, sig, signKey.slice().fill(1, 31))).not.toBe(base);
  });

  it('stays within its bound, dropping the oldest first', () => {
    const proofs = new VerifiedWaitProofs(3);
    for (let n = 1; n <= 5; n++) proofs.add(key(n), 1_000, 0);
    expect(proofs.size).toBe(3);
    expect(proofs.has(key(1), 0)).toBe(false);
    expect(proofs.has(key(2), 0)).toBe(false);
    expect(proofs.has(key(5), 0)).toBe(true);
  });

  it('drops expired proofs at the front as new ones come', () => {
    const proofs = new VerifiedWaitProofs(10);
    proofs.add(key(1), 10, 0);
    proofs.add(key(2), 10, 0);
    proofs.add(key(3), 1_000, 50);
    expect(proofs.size).toBe(1);
  });
});
