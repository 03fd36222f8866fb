/** `komrade inbox --watch`: the inbox once, then each new letter as soon as the Operator has it. */
import { sessionResetLine } from './session-reset-line.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { InboxCheck, KomradeClient, ReceivedLetter } from '../../client/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import type { Output } from './output.js';
import { renderInbox, renderLetter } from './render.js';

/** How long one wait at the Operator may last; it caps it at its `mail.maxWaitSeconds`. */
export const WATCH_WAIT_MS = 55_000;
/** How often an Operator that cannot hold a wait (it predates waiting) is checked instead. */
export const WATCH_POLL_MS = 30_000;
const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 30_000;

/** Failures that may pass by themselves: the watch says so once and tries again. */
const PASSING: ReadonlySet<string> = new Set([
  'OPERATOR_UNREACHABLE',
  'TOR_UNAVAILABLE',
  'REQUEST_TIMEOUT',
  'INTERNAL',
]);

/** The parts of a client the watch uses. */
export type WatchedClient = Pick<
  KomradeClient,
  'checkInbox' | 'inbox' | 'requests' | 'collectives' | 'waitForMail'
>;

/** What {@link watchInbox} needs. */
export interface WatchInboxOptions {
  readonly client: WatchedClient;
  readonly output: Output;
  /** Ends the watch (Ctrl-C); it then resolves. */
  readonly signal: AbortSignal;
  /** How many of the latest letters the first view shows. */
  readonly limit: number;
  readonly now: () => number;
  /** @defaultValue {@link WATCH_WAIT_MS} */
  readonly waitMs?: number;
  /** @defaultValue {@link WATCH_POLL_MS} */
  readonly pollMs?: number;
  /** Resolves after `ms`, or at once when `signal` aborts. @defaultValue a timer */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const letterKey = (letter: ReceivedLetter) => `${letter.from}/${letter.id}`;

// Anything but a KomradeError is a bug here: never retried.
const codeOf = (error: unknown): string | undefined =>
  isKomradeError(error) ? error.code : undefined;

/** Resolves after `ms`, or at once when `signal` aborts (Node's timer rejects then: not an error). */
const sleepFor = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

/** What a later check brought besides letters, one line each (empty when nothing). */
function renderNews(check: InboxCheck, collectives: readonly string[]): string[] {
  const lines: string[] = [];
  if (check.requested > 0) {
    lines.push(
      `${check.requested} new request(s): run \`komrade requests\` to read, accept or block.`,
    );
  }
  if (check.collective > 0) {
    const where = collectives.length === 1 ? `@${collectives[0] ?? ''}` : '@COLLECTIVE';
    lines.push(`${check.collective} new collective message(s): komrade collective read ${where}`);
  }
  if (check.rejected > 0) lines.push(`${check.rejected} rejected (failed verification).`);
  for (const name of check.newFollowers) lines.push(`@${name} now follows you.`);
  for (const reset of check.sessionResets) lines.push(sessionResetLine(reset));
  for (const name of check.admitted) lines.push(`You are now a member of @${name}.`);
  return lines;
}

/**
 * Shows the inbox as `komrade inbox` does, then loops: wait at the Operator for mail, check the
 * inbox, show what is new. Failures that may pass (the Operator or Tor unreachable) are said once
 * and retried with backoff (1 s doubling to 30 s); an Operator without waiting is checked every
 * `pollMs`, said once. Resolves when `signal` aborts.
 * @throws any other failure of a check (e.g. `CLOCK_SKEW`, `OPERATOR_KEY_CHANGED`)
 */
export async function watchInbox(options: WatchInboxOptions): Promise<void> {
  const { client, output, signal } = options;
  const waitMs = options.waitMs ?? WATCH_WAIT_MS;
  const pollMs = options.pollMs ?? WATCH_POLL_MS;
  const sleep = options.sleep ?? sleepFor;
  const shown = new Set<string>();

  const since = options.now();
  const first = await client.checkInbox();
  const latest = client
    .inbox()
    .slice(-options.limit)
    .map((letter) => ({ ...letter, new: letter.receivedAt >= since }));
  output.result(null, () => renderInbox(first, latest, client.requests(), client.collectives()));
  for (const letter of client.inbox()) shown.add(letterKey(letter));
  output.progress('Watching for new letters (Ctrl-C to stop)…');

  // A function, not a property read: the signal flips during the awaits below.
  const stopped = () => signal.aborted;
  let polling = false;
  let failures = 0;
  while (!stopped()) {
    try {
      if (polling) {
        await sleep(pollMs, signal);
        if (stopped()) break;
      } else if (!(await client.waitForMail({ waitMs, signal }))) {
        if (failures > 0) output.progress('Reached the Operator again; watching.');
        failures = 0;
        continue;
      }
      const check = await client.checkInbox();
      if (failures > 0) output.progress('Reached the Operator again; watching.');
      failures = 0;
      const fresh = client.inbox().filter((letter) => !shown.has(letterKey(letter)));
      for (const letter of fresh) shown.add(letterKey(letter));
      const lines = [
        ...fresh.map((letter) => renderLetter(letter)),
        ...renderNews(check, client.collectives()),
      ];
      if (lines.length > 0) output.result(null, () => lines.join('\n\n'));
    } catch (error) {
      if (stopped()) break;
      const code = codeOf(error);
      if (code === 'NOT_FOUND' && !polling) {
        polling = true;
        output.progress(
          `This Operator cannot hold a wait for mail (it predates it): checking every ${Math.round(pollMs / 1_000)} s instead.`,
        );
        continue;
      }
      if (code === undefined || !PASSING.has(code)) throw error;
      failures++;
      const delay = Math.min(FIRST_RETRY_MS * 2 ** (failures - 1), LAST_RETRY_MS);
      if (failures === 1) {
        output.progress(
          `Cannot reach the Operator (${code}); still watching, trying again (every ${LAST_RETRY_MS / 1_000} s at most).`,
        );
      }
      await sleep(delay, signal);
    }
  }
  output.progress('Stopped watching.');
}
