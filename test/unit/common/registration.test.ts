/** Registration claims: the key holder is signed by the registrant and countersigned by the Operator. */
import { describe, expect, it } from 'vitest';
import {
  generateIdentityKeys,
  signDetached,
  verifyDetached,
} from '../../../common/crypto/index.js';
import {
  KEY_HOLDERS,
  TAGS,
  claimBytesForPow,
  curve25519KeySchema,
  isKeyHolder,
  isRatchetKey,
  proveClaim,
  receiptSchema,
  registerRequestSchema,
  signReceipt,
  signedBytes,
  toBase64url,
  verifyClaimProof,
  verifyReceipt,
  type KeyHolder,
} from '../../../common/wire/index.js';

const komrade = generateIdentityKeys();
const operator = generateIdentityKeys();
const ratchetKey = Uint8Array.of(0x05, ...new Uint8Array(32).fill(9));
const claimOf = (keyHolder: KeyHolder) => ({
  name: 'alice',
  signKey: komrade.signPublic,
  boxKey: komrade.boxPublic,
  keyHolder,
  ratchetKey,
});

describe('registration claims and the key holder', () => {
  it.each(KEY_HOLDERS)('signs and verifies a claim and receipt held by %s', (holder) => {
    const claim = claimOf(holder);
    const pop = proveClaim(claim, komrade.signSecret);
    expect(verifyClaimProof(claim, pop)).toBe(true);
    const receipt = signReceipt({ ...claim, registeredAt: 1 }, operator.signSecret);
    expect(verifyReceipt(receipt, operator.signPublic)).toBe(true);
    for (const other of KEY_HOLDERS.filter((h) => h !== holder)) {
      // Neither the Operator nor anyone on the way can relabel the claim or the receipt.
      expect(verifyClaimProof({ ...claim, keyHolder: other }, pop)).toBe(false);
      expect(verifyReceipt({ ...receipt, keyHolder: other }, operator.signPublic)).toBe(false);
    }
  });

  it.each(['matrix', 'self', 'xmpp-bridge', 'a1'])('round-trips the open label %s', (label) => {
    const claim = claimOf(label);
    const pop = proveClaim(claim, komrade.signSecret);
    expect(verifyClaimProof(claim, pop)).toBe(true);
    const receipt = signReceipt({ ...claim, registeredAt: 1 }, operator.signSecret);
    expect(verifyReceipt(receipt, operator.signPublic)).toBe(true);
    expect(verifyReceipt({ ...receipt, keyHolder: 'telegram' }, operator.signPublic)).toBe(false);
  });

  /** Labels of the wrong shape: uppercase, look-alikes, too long, too short, empty, odd starts. */
  const MALFORMED = [
    'Matrix',
    'm\u0430trix', // Cyrillic а
    'matrix\u200b', // zero-width space
    'x'.repeat(25),
    'a',
    '',
    '-matrix',
    '1matrix',
    'mat rix',
    'matrix\n',
  ];

  it('tells a label by its shape, not by a closed list', () => {
    expect(KEY_HOLDERS).toEqual(['self', 'telegram', 'discord']);
    expect(KEY_HOLDERS.every(isKeyHolder)).toBe(true);
    expect(isKeyHolder('matrix')).toBe(true);
    expect(isKeyHolder('x'.repeat(24))).toBe(true);
    expect(isKeyHolder(undefined)).toBe(false);
    for (const label of MALFORMED) expect(isKeyHolder(label), JSON.stringify(label)).toBe(false);
  });

  it.each(MALFORMED)('the client refuses to sign a claim labelled %j', (label) => {
    const claim = claimOf(label);
    expect(() => proveClaim(claim, komrade.signSecret)).toThrow(/key-holder label/);
    expect(() => claimBytesForPow(claim)).toThrow(/key-holder label/);
    expect(verifyClaimProof(claim, new Uint8Array(64))).toBe(false);
  });

  it('refuses a receipt with a malformed label even when the Operator signed it', () => {
    const record = {
      name: 'alice',
      signKey: komrade.signPublic,
      boxKey: komrade.boxPublic,
      keyHolder: 'Matrix',
      registeredAt: 1,
    };
    const sig = signDetached(signedBytes(TAGS.receipt, record), operator.signSecret);
    expect(verifyReceipt({ ...record, ratchetKey: null, sig }, operator.signPublic)).toBe(false);
  });

  it('refuses a malformed or missing holder on the wire, naming the field', () => {
    const b64 = (n: number) => toBase64url(new Uint8Array(n));
    const request = {
      name: 'alice',
      signKey: b64(32),
      boxKey: b64(32),
      keyHolder: 'telegram',
      pop: b64(64),
      pow: b64(8),
    };
    expect(registerRequestSchema.safeParse(request).success).toBe(true);
    expect(registerRequestSchema.safeParse({ ...request, keyHolder: 'matrix' }).success).toBe(true);
    for (const label of MALFORMED) {
      const bad = registerRequestSchema.safeParse({ ...request, keyHolder: label });
      expect(bad.success, JSON.stringify(label)).toBe(false);
      expect(bad.error?.issues[0]?.path).toEqual(['keyHolder']);
    }
    const missing: Partial<typeof request> = { ...request };
    delete missing.keyHolder;
    expect(registerRequestSchema.safeParse(missing).success).toBe(false);
    const receipt = {
      name: 'alice',
      signKey: b64(32),
      boxKey: b64(32),
      ratchetKey: null,
      registeredAt: 1,
      sig: b64(64),
    };
    expect(receiptSchema.safeParse({ ...receipt, keyHolder: 'discord' }).success).toBe(true);
    expect(receiptSchema.safeParse({ ...receipt, keyHolder: 'matrix' }).success).toBe(true);
    expect(receiptSchema.safeParse(receipt).success).toBe(false);
    expect(receiptSchema.safeParse({ ...receipt, keyHolder: 'Bot' }).success).toBe(false);
  });
});

describe('the ratchet key in claims and receipts', () => {
  const claim = claimOf('self');
  const old = { ...claim, ratchetKey: null };

  it('is signed in the proof and the receipt, and cannot be swapped or stripped', () => {
    const pop = proveClaim(claim, komrade.signSecret);
    expect(verifyClaimProof(claim, pop)).toBe(true);
    const other = Uint8Array.of(0x05, ...new Uint8Array(32).fill(1));
    expect(verifyClaimProof({ ...claim, ratchetKey: other }, pop)).toBe(false);
    expect(verifyClaimProof(old, pop)).toBe(false);
    const receipt = signReceipt({ ...claim, registeredAt: 1 }, operator.signSecret);
    expect(verifyReceipt(receipt, operator.signPublic)).toBe(true);
    expect(verifyReceipt({ ...receipt, ratchetKey: other }, operator.signPublic)).toBe(false);
    expect(verifyReceipt({ ...receipt, ratchetKey: null }, operator.signPublic)).toBe(false);
  });

  it('leaves a claim without one signed exactly as before ratchet keys', () => {
    const before = { name: old.name, signKey: old.signKey, boxKey: old.boxKey, keyHolder: 'self' };
    const receipt = signReceipt({ ...old, registeredAt: 1 }, operator.signSecret);
    const bytesBefore = signedBytes(TAGS.receipt, { ...before, registeredAt: 1 });
    expect(verifyDetachedOk(receipt.sig, bytesBefore)).toBe(true);
    expect(verifyReceipt(receipt, operator.signPublic)).toBe(true);
  });

  it('refuses a key of the wrong length or type byte, on the wire and when signing', () => {
    for (const bad of [new Uint8Array(33), Uint8Array.of(0x05, ...new Uint8Array(31))]) {
      expect(() => proveClaim({ ...claim, ratchetKey: bad }, komrade.signSecret)).toThrow(
        /ratchet key/,
      );
      expect(verifyClaimProof({ ...claim, ratchetKey: bad }, new Uint8Array(64))).toBe(false);
      expect(isRatchetKey(bad)).toBe(false);
      expect(curve25519KeySchema.safeParse(toBase64url(bad)).success).toBe(false);
    }
    expect(isRatchetKey(ratchetKey)).toBe(true);
    expect(curve25519KeySchema.safeParse(toBase64url(ratchetKey)).success).toBe(true);
  });

  const verifyDetachedOk = (sig: Uint8Array, bytes: Uint8Array) =>
    verifyDetached(sig, bytes, operator.signPublic);
});
