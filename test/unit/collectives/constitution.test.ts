/** The constitution's arithmetic and schema: exact integer ratios, clamping, strict shapes. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONSTITUTION,
  MAX_ALLOWED_KEY_HOLDERS,
  constitutionSchema,
  quorumFor,
  votesRequired,
} from '../../../common/collectives/index.js';

describe('quorumFor', () => {
  it('gives the default: 1 vouch up to 5 members, then ceil(20%) with a minimum of 2', () => {
    const rule = DEFAULT_CONSTITUTION.quorum;
    const table = [1, 2, 3, 4, 5, 6, 10, 11, 15, 16, 100, 1000].map((n) => [n, quorumFor(rule, n)]);
    expect(table).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 1],
      [6, 2],
      [10, 2],
      [11, 3],
      [15, 3],
      [16, 4],
      [100, 20],
      [1000, 200],
    ]);
  });

  it('never asks for more vouches than there are members, nor fewer than one', () => {
    expect(quorumFor({ fixed: 5 }, 3)).toBe(3);
    expect(quorumFor({ fixed: 5 }, 0)).toBe(1);
    expect(quorumFor({ fraction: { num: 0, den: 1 }, min: 1 }, 50)).toBe(1);
  });

  it('uses exact integer arithmetic (20% of 15 is 3, not 4)', () => {
    expect(quorumFor({ fraction: { num: 1, den: 5 }, min: 1 }, 15)).toBe(3);
    expect(quorumFor({ fraction: { num: 1, den: 3 }, min: 1 }, 3)).toBe(1);
  });
});

describe('votesRequired', () => {
  it('majority means more than half; two thirds means at least two thirds', () => {
    const majority = DEFAULT_CONSTITUTION.amendment;
    const twoThirds = DEFAULT_CONSTITUTION.removal;
    expect([1, 2, 3, 4, 5, 6].map((n) => votesRequired(majority, n))).toEqual([1, 2, 2, 3, 3, 4]);
    expect([1, 2, 3, 4, 5, 6].map((n) => votesRequired(twoThirds, n))).toEqual([1, 2, 2, 3, 4, 4]);
  });
});

describe('constitutionSchema', () => {
  it('accepts the default', () => {
    expect(constitutionSchema.safeParse(DEFAULT_CONSTITUTION).success).toBe(true);
  });

  it('accepts a key-holder label that did not exist when labels were opened', () => {
    const withMatrix = { ...DEFAULT_CONSTITUTION, allowedKeyHolders: ['self', 'matrix'] };
    expect(constitutionSchema.safeParse(withMatrix).success).toBe(true);
  });

  it.each([
    ['a float fraction', { ...DEFAULT_CONSTITUTION, quorum: { fraction: 0.2, min: 2 } }],
    ['num over den', { ...DEFAULT_CONSTITUTION, quorum: { fraction: { num: 3, den: 2 }, min: 1 } }],
    [
      'more than everyone',
      { ...DEFAULT_CONSTITUTION, amendment: { moreThan: { num: 1, den: 1 } } },
    ],
    ['no key holder', { ...DEFAULT_CONSTITUTION, allowedKeyHolders: [] }],
    ['a repeated key holder', { ...DEFAULT_CONSTITUTION, allowedKeyHolders: ['self', 'self'] }],
    ['a malformed key holder', { ...DEFAULT_CONSTITUTION, allowedKeyHolders: ['Matrix'] }],
    ['a look-alike key holder', { ...DEFAULT_CONSTITUTION, allowedKeyHolders: ['m\u0430trix'] }],
    [
      'too many key holders',
      {
        ...DEFAULT_CONSTITUTION,
        allowedKeyHolders: Array.from({ length: MAX_ALLOWED_KEY_HOLDERS + 1 }, (_, i) => `k${i}`),
      },
    ],
    ['a one-second window', { ...DEFAULT_CONSTITUTION, votingWindowMs: 1_000 }],
    ['an unknown field', { ...DEFAULT_CONSTITUTION, extra: 1 }],
    ['a zero quorum', { ...DEFAULT_CONSTITUTION, quorum: { fixed: 0 } }],
  ])('refuses %s', (_, constitution) => {
    expect(constitutionSchema.safeParse(constitution).success).toBe(false);
  });
});
