/** Human-readable text for each command's result. Pure: output.ts does the writing. */
import { sessionResetLine } from './session-reset-line.js';
import type {
  Contact,
  FeedView,
  InboxCheck,
  KeyHolder,
  KomradeProfile,
  LetterRequest,
  PublishedPost,
  ReceivedLetter,
  WhoAmI,
} from '../../client/index.js';
import { safeForTerminal } from './output.js';

/** `2024-05-01 12:34 UTC`: unambiguous whatever the reader's zone. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const indent = (text: string) =>
  safeForTerminal(text)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// From the signed receipt: an adapter's host can read what the identities it holds write.
// Labels are open (a surface added later has its own): any other shows as itself.
const BRIDGE_TEXT: Partial<Record<KeyHolder, string>> = {
  telegram: 'a Telegram bridge',
  discord: 'a Discord bridge',
};
const bridgeText = (holder: KeyHolder): string => BRIDGE_TEXT[holder] ?? `a ${holder} bridge`;
const holderText = (holder: KeyHolder, self: string): string =>
  holder === 'self' ? self : `${bridgeText(holder)} (its host can read what is written)`;

export function renderProfile(profile: KomradeProfile): string {
  return [
    `@${profile.name}, registered ${formatTime(profile.registeredAt)}`,
    `  keys held by: ${holderText(profile.keyHolder, 'their own device')}`,
    `  signing key: ${profile.signKey}`,
    `  box key:     ${profile.boxKey}`,
  ].join('\n');
}

export function renderWhoAmI(me: WhoAmI, operatorUrl: string): string {
  const head =
    me.name === null || me.registeredAt === null
      ? 'Not registered yet (run `komrade register NAME`).'
      : `@${me.name}, registered ${formatTime(me.registeredAt)}`;
  return [
    head,
    `  operator:    ${operatorUrl}`,
    `  keys held by: ${holderText(me.keyHolder, 'this device')}`,
    `  signing key: ${me.signKey}`,
    `  box key:     ${me.boxKey}`,
  ].join('\n');
}

export function renderLetter(letter: ReceivedLetter & { readonly new?: boolean }): string {
  const head = letter.kind === 'post' ? '[post] From' : 'From';
  const held =
    letter.fromKeyHolder === undefined || letter.fromKeyHolder === 'self'
      ? ''
      : ` · keys held by ${bridgeText(letter.fromKeyHolder)}`;
  const mark = letter.new === true ? ' · new' : '';
  return `${head} @${letter.from} · ${formatTime(letter.sentAt)}${held}${mark}\n${indent(letter.text)}`;
}

/**
 * The inbox after a check.
 * @param letters - the letters shown; those with `new` arrived during this check
 * @param collectives - the collectives this identity knows, to name where new messages wait
 */
export function renderInbox(
  check: InboxCheck,
  letters: readonly (ReceivedLetter & { readonly new?: boolean })[],
  requests: readonly LetterRequest[],
  collectives: readonly string[] = [],
): string {
  const lines: string[] = [];
  const news = [plural(check.received, 'new letter')];
  if (check.posts > 0) news.push(plural(check.posts, 'new post'));
  if (check.requested > 0) news.push(plural(check.requested, 'new request'));
  if (check.collective > 0) {
    const where =
      collectives.length === 1 && collectives[0] !== undefined
        ? `komrade collective read @${collectives[0]}`
        : 'komrade collective read @COLLECTIVE';
    news.push(`${plural(check.collective, 'new collective message')} (${where})`);
  }
  if (check.rejected > 0) news.push(`${check.rejected} rejected (failed verification)`);
  if (check.blocked > 0) news.push(`${check.blocked} from blocked komrades dropped`);
  if (check.stale > 0) news.push(`${check.stale} old or repeated ignored`);
  lines.push(`${news.join(', ')}.`);
  for (const name of check.newFollowers) lines.push(`@${name} now follows you.`);
  for (const reset of check.sessionResets) lines.push(sessionResetLine(reset));
  for (const name of check.admitted) lines.push(`You are now a member of @${name}.`);
  if (letters.length === 0) lines.push('', 'Your inbox is empty.');
  for (const letter of letters) lines.push('', renderLetter(letter));
  if (requests.length > 0) {
    const who = requests.map((r) => `@${r.from} (${plural(r.letters.length, 'letter')})`);
    lines.push(
      '',
      `Requests waiting from ${who.join(', ')}: run \`komrade requests\` to read, accept or block.`,
    );
  }
  return lines.join('\n');
}

export function renderRequests(requests: readonly LetterRequest[]): string {
  if (requests.length === 0) return 'No requests.';
  const lines: string[] = [];
  for (const request of requests) {
    lines.push(`Request from @${request.from} (${plural(request.letters.length, 'letter')}):`);
    for (const letter of request.letters) lines.push(indent(renderLetter(letter)));
    lines.push(
      `  Accept: komrade requests accept @${request.from}   Block: komrade requests block @${request.from}`,
      '',
    );
  }
  return lines.join('\n').trimEnd();
}

export function renderPosted(post: PublishedPost): string {
  return `Posted to @komrades; it stays until ${formatTime(post.expiresAt)}.`;
}

export function renderFeed(feed: FeedView): string {
  const lines: string[] = [];
  if (feed.posts.length === 0) lines.push('No posts.');
  for (const post of feed.posts) {
    lines.push(`@${post.from} · ${formatTime(post.postedAt)}`, indent(post.text), '');
  }
  if (feed.dropped > 0) lines.push(`${feed.dropped} post(s) dropped: they failed verification.`);
  if (feed.next !== null)
    lines.push(`Older posts: komrade feed --before ${safeForTerminal(feed.next)}`);
  return lines.join('\n').trimEnd();
}

/** One name a line (`@bob`), with a count; `empty` when there are none. */
export function renderNames(names: readonly string[], empty: string, word: string): string {
  if (names.length === 0) return empty;
  return [`${plural(names.length, word)}:`, ...names.map((name) => `  @${name}`)].join('\n');
}

export function renderContacts(contacts: readonly Contact[]): string {
  if (contacts.length === 0) return 'No contacts yet: write to someone, or accept a request.';
  return contacts
    .map((c) =>
      c.state === 'blocked'
        ? `@${c.name} · blocked since ${formatTime(c.since)} (komrade unblock @${c.name})`
        : `@${c.name} · accepted since ${formatTime(c.since)}`,
    )
    .join('\n');
}
