/** A collective's constitution: its rules as data (quorum, thresholds, voting window, key holders). */
import { z } from 'zod';
import { KEY_HOLDERS, keyHolderSchema, type KeyHolder } from '../wire/index.js';

/** Largest denominator a ratio may use; keeps every product far below 2^53. */
const MAX_DENOMINATOR = 1_000;
/** Largest fixed count or minimum a constitution may name: the largest quorum, for one. */
export const MAX_QUORUM = 10_000;
/** Shortest and longest voting window: one minute to one year. */
export const MIN_VOTING_WINDOW_MS = 60_000;
export const MAX_VOTING_WINDOW_MS = 366 * 24 * 60 * 60 * 1000;
/** The longest voting window in whole days (what chat surfaces ask for). */
export const MAX_VOTING_WINDOW_DAYS = MAX_VOTING_WINDOW_MS / (24 * 60 * 60 * 1000);
/** Most key-holder labels a constitution may allow. */
export const MAX_ALLOWED_KEY_HOLDERS = 32;

const count = z.number().int().min(1).max(MAX_QUORUM);

/**
 * An exact fraction `num/den` with `0 ≤ num ≤ den`. Integers rather than a float, so that
 * "20% of 15 members" is exactly 3 on every machine (`0.2 * 15` is `3.0000000000000004`).
 */
export const ratioSchema = z
  .strictObject({
    num: z.number().int().min(0).max(MAX_DENOMINATOR),
    den: z.number().int().min(1).max(MAX_DENOMINATOR),
  })
  .refine((r) => r.num <= r.den, 'num must not exceed den');

/** A fraction, see {@link ratioSchema}. */
export type Ratio = z.output<typeof ratioSchema>;

/**
 * How many distinct members' vouches admit a candidate, as a function of the current size:
 * `{ fixed: n }`, or `{ fraction, min, upTo? }` = `max(min, ceil(fraction × size))`, except that
 * while the collective has at most `upTo.members` members it is `upTo.fixed`.
 */
export const quorumRuleSchema = z.union([
  z.strictObject({ fixed: count }),
  z.strictObject({
    fraction: ratioSchema,
    min: count,
    upTo: z.strictObject({ members: count, fixed: count }).optional(),
  }),
]);

/** See {@link quorumRuleSchema}. */
export type QuorumRule = z.output<typeof quorumRuleSchema>;

/**
 * How many of the current members must vote yes: `{ moreThan: r }` (yes × den \> num × members)
 * or `{ atLeast: r }` (yes × den ≥ num × members). At least one yes is always needed.
 */
export const thresholdSchema = z.union([
  z.strictObject({
    moreThan: ratioSchema.refine((r) => r.num < r.den, 'more than all members can never pass'),
  }),
  z.strictObject({ atLeast: ratioSchema }),
]);

/** See {@link thresholdSchema}. */
export type Threshold = z.output<typeof thresholdSchema>;

/** A constitution, exactly as it appears in a genesis or amendment event. */
export const constitutionSchema = z.strictObject({
  quorum: quorumRuleSchema,
  amendment: thresholdSchema,
  removal: thresholdSchema,
  votingWindowMs: z.number().int().min(MIN_VOTING_WINDOW_MS).max(MAX_VOTING_WINDOW_MS),
  // Labels, open: a collective may allow a surface that did not exist when it was founded.
  allowedKeyHolders: z
    .array(keyHolderSchema)
    .min(1)
    .max(MAX_ALLOWED_KEY_HOLDERS)
    .refine((list) => new Set(list).size === list.length, 'key holders must be distinct'),
});

/** A collective's rules. */
export type Constitution = z.output<typeof constitutionSchema>;

/**
 * The default constitution:
 * - quorum: 1 vouch while the collective has at most 5 members, then `ceil(20% of members)`, at
 *   least 2 (6–10 members: 2, 11–15: 3, 100: 20);
 * - amendments: more than half of all members vote yes within the window;
 * - removal of a member: at least two thirds of all members;
 * - voting window: 7 days;
 * - the key holders of the day may act (`self`, `telegram`, `discord`); a collective that wants
 *   members on another surface (say `matrix`) adds its label by amendment.
 */
export const DEFAULT_CONSTITUTION: Constitution = Object.freeze({
  quorum: Object.freeze({
    fraction: Object.freeze({ num: 1, den: 5 }),
    min: 2,
    upTo: Object.freeze({ members: 5, fixed: 1 }),
  }),
  amendment: Object.freeze({ moreThan: Object.freeze({ num: 1, den: 2 }) }),
  removal: Object.freeze({ atLeast: Object.freeze({ num: 2, den: 3 }) }),
  votingWindowMs: 7 * 24 * 60 * 60 * 1000,
  allowedKeyHolders: Object.freeze([...KEY_HOLDERS]) as KeyHolder[],
});

/**
 * The number of distinct members' vouches that admit a candidate when the collective has `size`
 * members. Never more than `size` (a rule cannot lock a small collective out of growing), and at
 * least 1.
 */
export function quorumFor(rule: QuorumRule, size: number): number {
  let required: number;
  if ('fixed' in rule) {
    required = rule.fixed;
  } else if (rule.upTo !== undefined && size <= rule.upTo.members) {
    required = rule.upTo.fixed;
  } else {
    required = Math.max(rule.min, ceilDiv(rule.fraction.num * size, rule.fraction.den));
  }
  return Math.max(1, Math.min(required, size));
}

/** The smallest number of yes votes out of `members` that meets `threshold` (at least 1). */
export function votesRequired(threshold: Threshold, members: number): number {
  if ('moreThan' in threshold) {
    const { num, den } = threshold.moreThan;
    return Math.max(1, Math.floor((num * members) / den) + 1);
  }
  const { num, den } = threshold.atLeast;
  return Math.max(1, ceilDiv(num * members, den));
}

/** `ceil(a / b)` for non-negative integers, without floating-point rounding. */
function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}
