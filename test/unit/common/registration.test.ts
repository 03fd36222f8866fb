/** Registration claims: the key holder is signed by the registrant and countersigned by the Operator. */
import { describe, expect, it } from 'vitest';
import { generateIdentityKeys } from '../../../common/crypto/index.js';
import {
  KEY_HOLDERS,
  isKeyHolder,
  proveClaim,
  receiptSchema,
  registerRequestSchema,
  signReceipt,
  toBase64url,
  verifyClaimProof,
  verifyReceipt,
  type KeyHolder,
} from '../../../common/wire/index.js';

const komrade = generateIdentityKeys();
const operator = generateIdentityKeys();
const claimOf = (keyHolder: KeyHolder) => ({
  name: 'alice',
  signKey: komrade.signPublic,
  boxKey: komrade.boxPublic,
  keyHolder,
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

  it('knows exactly the closed set of holders', () => {
    expect(KEY_HOLDERS).toEqual(['self', 'telegram', 'discord']);
    expect(isKeyHolder('telegram')).toBe(true);
    expect(isKeyHolder('matrix')).toBe(false);
    expect(isKeyHolder(undefined)).toBe(false);
  });

  it('refuses an unknown or missing holder on the wire, naming the field', () => {
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
    const unknown = registerRequestSchema.safeParse({ ...request, keyHolder: 'matrix' });
    expect(unknown.success).toBe(false);
    expect(unknown.error?.issues[0]?.path).toEqual(['keyHolder']);
    const missing: Partial<typeof request> = { ...request };
    delete missing.keyHolder;
    expect(registerRequestSchema.safeParse(missing).success).toBe(false);
    const receipt = {
      name: 'alice',
      signKey: b64(32),
      boxKey: b64(32),
      registeredAt: 1,
      sig: b64(64),
    };
    expect(receiptSchema.safeParse({ ...receipt, keyHolder: 'discord' }).success).toBe(true);
    expect(receiptSchema.safeParse(receipt).success).toBe(false);
    expect(receiptSchema.safeParse({ ...receipt, keyHolder: 'bot' }).success).toBe(false);
  });
});
