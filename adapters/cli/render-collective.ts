/** Human-readable text for the `komrade collective` commands. Pure: output.ts does the writing. */
import {
  untrustedLine,
  type CollectiveView,
  type KeyHolder,
  type ProposalView,
  type ReceivedCollectiveMessage,
  type SentCollectiveMessage,
  type VoteOutcome,
  type VouchOutcome,
} from '../../client/index.js';
import {
  quorumFor,
  type Constitution,
  type ProposalChange,
  type QuorumRule,
  type Threshold,
} from '../../common/collectives/index.js';
import { safeForTerminal } from './output.js';
import { formatTime } from './render.js';

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
const vouches = (n: number) => plural(n, 'vouch', 'vouches');

/** `@bob (telegram)`: an adapter's host can read what the identities it holds write. */
const labelled = (name: string, holder: KeyHolder | null): string =>
  holder === null || holder === 'self' ? `@${name}` : `@${name} (${holder})`;

const indent = (text: string) =>
  safeForTerminal(text)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

export function describeQuorum(rule: QuorumRule): string {
  if ('fixed' in rule) return vouches(rule.fixed);
  const { num, den } = rule.fraction;
  const base = `${num}/${den} of the members (rounded up), at least ${rule.min}`;
  return rule.upTo === undefined
    ? base
    : `${vouches(rule.upTo.fixed)} while there are at most ${rule.upTo.members} members, then ${base}`;
}

export function describeThreshold(threshold: Threshold): string {
  const [how, r] =
    'moreThan' in threshold ? ['more than', threshold.moreThan] : ['at least', threshold.atLeast];
  return `${how} ${r.num}/${r.den} of all members vote yes`;
}

export function describeWindow(ms: number): string {
  const day = 86_400_000;
  const hour = 3_600_000;
  if (ms % day === 0) return plural(ms / day, 'day');
  if (ms % hour === 0) return plural(ms / hour, 'hour');
  return plural(Math.round(ms / 60_000), 'minute');
}

/** The constitution, one rule a line, with what the quorum is at `members` members. */
export function renderConstitution(c: Constitution, members: number, name: string): string {
  return [
    `The constitution of @${name}:`,
    `  quorum to admit:   ${describeQuorum(c.quorum)} (now ${quorumFor(c.quorum, members)} of ${members})`,
    `  amendments:        ${describeThreshold(c.amendment)}`,
    `  removing a member: ${describeThreshold(c.removal)}`,
    `  voting window:     ${describeWindow(c.votingWindowMs)}`,
    `  who may act:       keys held by ${c.allowedKeyHolders.join(', ')}`,
  ].join('\n');
}

/** What a proposal would change, against the constitution in force. */
export function describeChange(change: ProposalChange, current: Constitution): string {
  if (change.action === 'remove') return `remove @${change.member}`;
  const next = change.constitution;
  const parts: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(next.quorum, current.quorum)) parts.push(`quorum: ${describeQuorum(next.quorum)}`);
  if (!same(next.amendment, current.amendment)) {
    parts.push(`amendments: ${describeThreshold(next.amendment)}`);
  }
  if (!same(next.removal, current.removal)) {
    parts.push(`removal: ${describeThreshold(next.removal)}`);
  }
  if (next.votingWindowMs !== current.votingWindowMs) {
    parts.push(`voting window: ${describeWindow(next.votingWindowMs)}`);
  }
  if (!same(next.allowedKeyHolders, current.allowedKeyHolders)) {
    parts.push(`who may act: ${next.allowedKeyHolders.join(', ')}`);
  }
  return `amend the constitution: ${parts.length === 0 ? 'no change' : parts.join('; ')}`;
}

export function renderMembers(view: CollectiveView): string {
  return [
    `${plural(view.members.length, 'member')} of @${view.name}:`,
    ...view.members.map((m) => `  ${labelled(m.name, m.keyHolder)}`),
  ].join('\n');
}

export function renderPending(view: CollectiveView): string {
  if (view.pending.length === 0) return `Nobody is waiting to join @${view.name}.`;
  const lines = [`Waiting to join @${view.name}:`];
  for (const p of view.pending) {
    const by = p.vouchers.length === 0 ? '' : ` (${p.vouchers.map((v) => `@${v}`).join(', ')})`;
    lines.push(
      `  ${labelled(p.candidate, p.keyHolder)} ${p.vouchers.length}/${p.quorum} vouches${by} · asked ${formatTime(p.requestedAt)}`,
    );
    // The candidate's own words: one bounded line, nothing the terminal would act on.
    if (p.note.length > 0) lines.push(`    “${safeForTerminal(untrustedLine(p.note))}”`);
  }
  lines.push(`Vouch: komrade collective vouch @${view.name} @CANDIDATE`);
  return lines.join('\n');
}

export function renderProposal(p: ProposalView, current: Constitution): string {
  return [
    `#${p.id} by @${p.proposer}: ${describeChange(p.change, current)}`,
    `  yes ${p.yes.length}, no ${p.no.length}, ${p.required} yes needed · closes ${formatTime(p.closesAt)}`,
  ].join('\n');
}

export function renderProposals(view: CollectiveView): string {
  if (view.proposals.length === 0) return `No open proposals in @${view.name}.`;
  return [
    `Open proposals in @${view.name}:`,
    ...view.proposals.map((p) => renderProposal(p, view.constitution)),
    `Vote: komrade collective vote @${view.name} ID yes|no`,
  ].join('\n');
}

const STANDING: Record<CollectiveView['standing'], string> = {
  member: 'you are a member',
  candidate: 'you asked to join; members vouch for you',
  outsider: 'you are not a member (this is the last copy you verified)',
};

/** The overview: who you are there, and how many members, candidates and proposals. */
export function renderCollective(view: CollectiveView): string {
  return [
    `@${view.name}: ${STANDING[view.standing]}.`,
    `  ${plural(view.members.length, 'member')}, ${plural(view.pending.length, 'candidate')}, ${plural(view.proposals.length, 'open proposal')}; ${plural(view.length, 'event')} verified`,
    `  quorum to admit now: ${quorumFor(view.constitution.quorum, view.members.length)}`,
  ].join('\n');
}

export function renderVouch(outcome: VouchOutcome): string {
  const count = `${outcome.vouchers.length}/${outcome.quorum} vouches`;
  return outcome.admitted
    ? `@${outcome.candidate} is a member of @${outcome.collective} (${count}).`
    : `Vouched for @${outcome.candidate} in @${outcome.collective}: ${count}.`;
}

/** What `collective send` did; with nobody else in the collective, that nothing was sent. */
export function renderSent(sent: SentCollectiveMessage): string {
  if (sent.recipients === 0 && sent.failed.length === 0) {
    return `Nobody else is a member of @${sent.collective} yet; nothing was sent.`;
  }
  const failed = sent.failed.map((f) => `\n  not sealed to @${f.name}: ${f.reason}`).join('');
  return `Sent to @${sent.collective} (${sent.recipients} member(s) besides you).${failed}`;
}

export function renderVote(outcome: VoteOutcome): string {
  const tally = `yes ${outcome.yes}, no ${outcome.no}, ${outcome.required} yes needed`;
  if (outcome.alreadyPassed) {
    return `Proposal #${outcome.proposal} of @${outcome.collective} had already been enacted; your vote was not needed.`;
  }
  return outcome.enacted
    ? `Proposal #${outcome.proposal} of @${outcome.collective} is enacted (${tally}).`
    : `Voted on proposal #${outcome.proposal} of @${outcome.collective}: ${tally}.`;
}

export function renderMessages(
  name: string,
  messages: readonly ReceivedCollectiveMessage[],
  me: string | null,
): string {
  if (messages.length === 0) return `No messages in @${name} yet.`;
  return messages
    .map((m) => {
      const who = m.from === me ? 'You' : labelled(m.from, m.fromKeyHolder);
      return `${who} · ${formatTime(m.sentAt)}\n${indent(m.text)}`;
    })
    .join('\n\n');
}
