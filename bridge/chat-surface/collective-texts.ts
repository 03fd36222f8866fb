/**
 * The wording of collectives that every chat says alike (Telegram, Discord): who holds a member's
 * keys, what a proposal changes, and a collective's rules. Plain text; a chat that renders markdown
 * escapes it.
 */
import {
  quorumFor,
  votesRequired,
  type Constitution,
  type ProposalChange,
  type QuorumRule,
  type Ratio,
  type Threshold,
} from '../../common/collectives/index.js';
import type { KeyHolder } from '../../common/wire/index.js';
import type { CollectiveView } from '../../client/index.js';

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * A short trust label for a komrade: who holds their keys, from their signed registration (a
 * bridge's host can read what they write; their own device is as good as it gets).
 */
export function trustLabel(keyHolder: KeyHolder | null | undefined): string {
  if (keyHolder === null || keyHolder === undefined) return 'unknown';
  return keyHolder === 'self' ? 'own device' : keyHolder;
}

const ratio = ({ num, den }: Ratio) =>
  (num * 100) % den === 0 ? `${(num * 100) / den}%` : `${num}/${den}`;

function describeQuorum(rule: QuorumRule): string {
  if ('fixed' in rule) return count(rule.fixed, 'vouch', 'vouches');
  const scaled = `${ratio(rule.fraction)} of the members, at least ${rule.min}`;
  return rule.upTo === undefined
    ? scaled
    : `${count(rule.upTo.fixed, 'vouch', 'vouches')} up to ${rule.upTo.members} members, then ${scaled}`;
}

const describeThreshold = (t: Threshold) =>
  'moreThan' in t
    ? `more than ${ratio(t.moreThan)} of all members`
    : `at least ${ratio(t.atLeast)} of all members`;

function describeWindow(ms: number): string {
  const days = ms / 86_400_000;
  if (Number.isInteger(days)) return count(days, 'day');
  const hours = ms / 3_600_000;
  return Number.isInteger(hours) ? count(hours, 'hour') : count(Math.round(ms / 60_000), 'minute');
}

const describeHolders = (holders: readonly KeyHolder[]) => holders.map(trustLabel).join(', ');

/**
 * What a proposal changes. With the constitution in force, an amendment names only what it
 * changes; without it, it lists every rule.
 */
export function describeChange(change: ProposalChange, current?: Constitution): string {
  if (change.action === 'remove') return `remove @${change.member}`;
  const next = change.constitution;
  const parts: string[] = [];
  const differs = (a: unknown, b: unknown) =>
    current === undefined || JSON.stringify(a) !== JSON.stringify(b);
  if (differs(next.quorum, current?.quorum)) parts.push(`quorum ${describeQuorum(next.quorum)}`);
  if (differs(next.amendment, current?.amendment)) {
    parts.push(`amendments need ${describeThreshold(next.amendment)}`);
  }
  if (differs(next.removal, current?.removal)) {
    parts.push(`removals need ${describeThreshold(next.removal)}`);
  }
  if (differs(next.votingWindowMs, current?.votingWindowMs)) {
    parts.push(`voting window ${describeWindow(next.votingWindowMs)}`);
  }
  if (differs(next.allowedKeyHolders, current?.allowedKeyHolders)) {
    parts.push(`keys may be held by ${describeHolders(next.allowedKeyHolders)}`);
  }
  return parts.length === 0 ? 'the same rules again' : `change the rules: ${parts.join('; ')}`;
}

/** A collective's rules, and what they mean at its current size. */
export function constitutionMessage(view: CollectiveView): string {
  const c = view.constitution;
  const size = view.members.length;
  return [
    `Rules of @${view.name} (${count(size, 'member')}):`,
    `• Admission: ${describeQuorum(c.quorum)} (now ${quorumFor(c.quorum, size)})`,
    `• Amendments: ${describeThreshold(c.amendment)} vote yes (now ${votesRequired(c.amendment, size)})`,
    `• Removal of a member: ${describeThreshold(c.removal)} vote yes (now ${votesRequired(c.removal, size)})`,
    `• Voting window: ${describeWindow(c.votingWindowMs)}`,
    `• Keys may be held by: ${describeHolders(c.allowedKeyHolders)}`,
  ].join('\n');
}
