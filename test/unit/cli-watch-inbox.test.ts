/**
 * `komrade inbox --watch`'s loop against a scripted client: what it shows, how it waits, backs off,
 * falls back to checking on a timer, and stops. Time is the fake `sleep`'s: nothing really waits.
 */
import { describe, expect, it } from 'vitest';
import type { InboxCheck, ReceivedLetter } from '../../client/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { Output } from '../../adapters/cli/output.js';
import { watchInbox, type WatchedClient } from '../../adapters/cli/watch-inbox.js';
import { runKomradeInProcess } from '../support/komrade-cli.js';

const EMPTY_CHECK: InboxCheck = {
  received: 0,
  requested: 0,
  blocked: 0,
  rejected: 0,
  duplicates: 0,
  posts: 0,
  follows: 0,
  stale: 0,
  newFollowers: [],
  admitted: [],
  unsolicited: 0,
  collective: 0,
  sessionResets: [],
};

const letter = (id: string, text: string): ReceivedLetter => ({
  kind: 'letter',
  id,
  from: 'alice',
  fromKeyHolder: 'self',
  to: 'bob',
  sentAt: 1_800_000_000_000,
  receivedAt: 1_800_000_000_000,
  text,
});

type Step = 'ready' | 'timeout' | KomradeError;

/**
 * A client whose waits answer `steps` in order (then the watch is stopped), and whose inbox gains
 * `arrivals[n]` at its n-th check after the first.
 */
function scripted(steps: Step[], arrivals: ReceivedLetter[][], stop: AbortController) {
  const inbox: ReceivedLetter[] = [];
  let checks = 0;
  const waits: number[] = [];
  const client: WatchedClient = {
    checkInbox: () => {
      if (checks > 0) inbox.push(...(arrivals[checks - 1] ?? []));
      checks++;
      return Promise.resolve(EMPTY_CHECK);
    },
    inbox: () => [...inbox],
    requests: () => [],
    collectives: () => [],
    waitForMail: ({ waitMs }) => {
      waits.push(waitMs);
      const step = steps.shift();
      if (step === undefined) {
        stop.abort();
        return Promise.reject(new DOMException('aborted', 'AbortError'));
      }
      if (step instanceof KomradeError) return Promise.reject(step);
      return Promise.resolve(step === 'ready');
    },
  };
  return { client, waits, checks: () => checks };
}

function capture() {
  let stdout = '';
  let stderr = '';
  const output = new Output({
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { output, stdout: () => stdout, stderr: () => stderr };
}

/** A `sleep` that records what it was asked and returns at once; stops the watch after `max`. */
function fakeSleep(stop: AbortController, max = Infinity) {
  const slept: number[] = [];
  const sleep = (ms: number) => {
    slept.push(ms);
    if (slept.length >= max) stop.abort();
    return Promise.resolve();
  };
  return { slept, sleep };
}

describe('komrade inbox --watch', () => {
  it('shows the inbox, then each new letter once, and says when it stops', async () => {
    const stop = new AbortController();
    const { client, waits } = scripted(
      ['ready', 'timeout', 'ready'],
      [[letter('a', 'First.')], [letter('b', 'Second.')]],
      stop,
    );
    const out = capture();
    await watchInbox({ client, output: out.output, signal: stop.signal, limit: 20, now: Date.now });
    expect(out.stdout()).toContain('Your inbox is empty.');
    expect(out.stdout().match(/First\./g)).toHaveLength(1);
    expect(out.stdout().match(/Second\./g)).toHaveLength(1);
    expect(out.stdout().indexOf('First.')).toBeLessThan(out.stdout().indexOf('Second.'));
    expect(waits.every((ms) => ms === 55_000)).toBe(true);
    expect(out.stderr()).toContain('Watching for new letters (Ctrl-C to stop)');
    expect(out.stderr().trimEnd().endsWith('Stopped watching.')).toBe(true);
  });

  it('says once that the Operator is unreachable, backs off 1 s doubling to 30 s, and says when it is back', async () => {
    const stop = new AbortController();
    const unreachable = () => new KomradeError('OPERATOR_UNREACHABLE', 'Could not reach it.');
    const steps: Step[] = [...Array.from({ length: 7 }, unreachable), 'ready'];
    const { client } = scripted(steps, [[letter('a', 'Back.')]], stop);
    const { slept, sleep } = fakeSleep(stop);
    const out = capture();
    await watchInbox({
      client,
      output: out.output,
      signal: stop.signal,
      limit: 20,
      now: Date.now,
      sleep,
    });
    expect(slept).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(out.stderr().match(/Cannot reach the Operator/g)).toHaveLength(1);
    expect(out.stderr()).toContain('OPERATOR_UNREACHABLE');
    expect(out.stderr()).toContain('Reached the Operator again');
    expect(out.stdout()).toContain('Back.');
  });

  it('checks every 30 s instead when the Operator cannot hold a wait, saying so once', async () => {
    const stop = new AbortController();
    const { client, checks } = scripted(
      [new KomradeError('NOT_FOUND', 'No such route.')],
      [[], [letter('a', 'Polled.')]],
      stop,
    );
    const { slept, sleep } = fakeSleep(stop, 3);
    const out = capture();
    await watchInbox({
      client,
      output: out.output,
      signal: stop.signal,
      limit: 20,
      now: Date.now,
      sleep,
    });
    expect(slept).toEqual([30_000, 30_000, 30_000]);
    expect(checks()).toBe(3);
    expect(out.stdout()).toContain('Polled.');
    expect(out.stderr().match(/checking every 30 s instead/g)).toHaveLength(1);
  });

  it('stops on a failure that will not pass by itself', async () => {
    const stop = new AbortController();
    const { client } = scripted([new KomradeError('CLOCK_SKEW', 'Check your clock.')], [], stop);
    const out = capture();
    await expect(
      watchInbox({ client, output: out.output, signal: stop.signal, limit: 20, now: Date.now }),
    ).rejects.toMatchObject({ code: 'CLOCK_SKEW' });
  });

  it('is refused with --json, before anything is opened', async () => {
    const run = await runKomradeInProcess(['--json', 'inbox', '--watch'], {
      home: '/nonexistent/komrade-home',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"code":"USAGE"');
    expect(run.stderr).toContain('--watch');
  });
});
