/** `komrade collective propose`: the options, parsed into a proposal. Pure, so it is unit-testable. */
import {
  MAX_VOTING_WINDOW_MS,
  MIN_VOTING_WINDOW_MS,
  constitutionSchema,
  type Constitution,
  type ProposalChange,
  type Ratio,
  type Threshold,
} from '../../common/collectives/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  KEY_HOLDERS,
  describeIssues,
  isKeyHolder,
  parseName,
  type KeyHolder,
} from '../../common/wire/index.js';

/** The options of `propose`, as commander hands them over (strings, still unchecked). */
export interface ProposeOptions {
  readonly quorum?: string;
  readonly quorumFraction?: string;
  readonly quorumMin?: string;
  readonly amendThreshold?: string;
  readonly removeThreshold?: string;
  readonly votingDays?: string;
  readonly keyHolders?: string;
  readonly remove?: string;
}

const DAY_MS = 86_400_000;

const usage = (message: string) => new KomradeError('USAGE', message);

function wholeNumber(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw usage(`${option} takes a whole number of at least 1, not "${value}".`);
  }
  return n;
}

/** `1/4` → `{ num: 1, den: 4 }`. */
export function parseRatio(value: string, option: string): Ratio {
  const match = /^(\d{1,4})\/(\d{1,4})$/.exec(value.trim());
  const num = Number(match?.[1]);
  const den = Number(match?.[2]);
  if (match === null || den < 1 || num > den) {
    throw usage(`${option} takes a fraction like 1/4 (at most 1), not "${value}".`);
  }
  return { num, den };
}

/** `more-than:1/2` or `>1/2`; `at-least:2/3` or `>=2/3`. */
export function parseThreshold(value: string, option: string): Threshold {
  const match = /^(more-than:|at-least:|>=|>)(.+)$/.exec(value.trim());
  if (match?.[1] === undefined || match[2] === undefined) {
    throw usage(`${option} takes more-than:N/D or at-least:N/D (or >N/D, >=N/D), not "${value}".`);
  }
  const ratio = parseRatio(match[2], option);
  return match[1] === 'at-least:' || match[1] === '>=' ? { atLeast: ratio } : { moreThan: ratio };
}

function parseKeyHolders(value: string): KeyHolder[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const holders = list.filter(isKeyHolder);
  if (list.length === 0 || holders.length !== list.length) {
    throw usage(
      `--key-holders takes a list of labels (lowercase letters, digits, "-"), such as ${KEY_HOLDERS.join(', ')}, e.g. self,telegram.`,
    );
  }
  return [...new Set(holders)];
}

const amends = (o: ProposeOptions) =>
  [
    o.quorum,
    o.quorumFraction,
    o.quorumMin,
    o.amendThreshold,
    o.removeThreshold,
    o.votingDays,
    o.keyHolders,
  ].some((v) => v !== undefined);

/**
 * The proposal the options describe: a member's removal (`--remove`), or the current constitution
 * with the options' changes applied (every other option).
 * @throws `USAGE` for no change, both kinds at once, or a value out of range
 */
export function proposalFromOptions(current: Constitution, o: ProposeOptions): ProposalChange {
  if (o.remove !== undefined) {
    if (amends(o)) throw usage('Propose either a removal (--remove) or an amendment, not both.');
    const member = parseName(o.remove);
    if (!member.ok) throw member.error;
    return { action: 'remove', member: member.value };
  }
  if (!amends(o)) {
    throw usage(
      'Say what to change: --quorum, --quorum-fraction/--quorum-min, --amend-threshold, --remove-threshold, --voting-days, --key-holders, or --remove @member.',
    );
  }
  if (o.quorum !== undefined && (o.quorumFraction !== undefined || o.quorumMin !== undefined)) {
    throw usage('Give either a fixed --quorum or --quorum-fraction (with --quorum-min), not both.');
  }
  let quorum = current.quorum;
  if (o.quorum !== undefined) quorum = { fixed: wholeNumber(o.quorum, '--quorum') };
  if (o.quorumFraction !== undefined || o.quorumMin !== undefined) {
    const base = 'fraction' in current.quorum ? current.quorum : undefined;
    const fraction =
      o.quorumFraction === undefined
        ? base?.fraction
        : parseRatio(o.quorumFraction, '--quorum-fraction');
    if (fraction === undefined) {
      throw usage('The quorum is a fixed number now: give --quorum-fraction with --quorum-min.');
    }
    const min =
      o.quorumMin === undefined ? (base?.min ?? 1) : wholeNumber(o.quorumMin, '--quorum-min');
    // The small-collective exception stays as it was.
    quorum = { fraction, min, ...(base?.upTo === undefined ? {} : { upTo: base.upTo }) };
  }
  let votingWindowMs = current.votingWindowMs;
  if (o.votingDays !== undefined) {
    votingWindowMs = wholeNumber(o.votingDays, '--voting-days') * DAY_MS;
    if (votingWindowMs < MIN_VOTING_WINDOW_MS || votingWindowMs > MAX_VOTING_WINDOW_MS) {
      throw usage(`--voting-days must be from 1 to ${MAX_VOTING_WINDOW_MS / DAY_MS}.`);
    }
  }
  const amended = {
    quorum,
    amendment:
      o.amendThreshold === undefined
        ? current.amendment
        : parseThreshold(o.amendThreshold, '--amend-threshold'),
    removal:
      o.removeThreshold === undefined
        ? current.removal
        : parseThreshold(o.removeThreshold, '--remove-threshold'),
    votingWindowMs,
    allowedKeyHolders:
      o.keyHolders === undefined ? current.allowedKeyHolders : parseKeyHolders(o.keyHolders),
  };
  const checked = constitutionSchema.safeParse(amended);
  if (!checked.success) {
    throw usage(`That constitution is not valid: ${describeIssues(checked.error)}.`);
  }
  return { action: 'amend', constitution: checked.data };
}
