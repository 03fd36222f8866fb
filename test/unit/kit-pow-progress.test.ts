/** Proof-of-work progress on chat surfaces: spaced, growing edits of one message; one per user. */
import { describe, expect, it } from 'vitest';
import { WorkingUsers, powProgress } from '../../bridge/index.js';

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let at = start;
  return {
    now: () => at,
    advance: (ms: number) => {
      at += ms;
    },
  };
}

/** A promise the test settles by hand. */
function deferred() {
  let resolve: () => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tried = (percent: number) => ({ tried: percent, expected: 100 });

describe('powProgress', () => {
  it('edits at most once per interval, only with a larger percentage, never 100', async () => {
    const time = clock();
    const shown: number[] = [];
    const progress = powProgress({
      show: (percent) => {
        shown.push(percent);
        return Promise.resolve();
      },
      everyMs: 1_000,
      now: time.now,
    });
    progress.onProgress(tried(10)); // too soon after the start
    time.advance(1_000);
    progress.onProgress(tried(20));
    progress.onProgress(tried(30)); // too soon after the last edit
    time.advance(999);
    progress.onProgress(tried(40)); // still too soon
    time.advance(1);
    progress.onProgress(tried(50));
    time.advance(5_000);
    progress.onProgress(tried(45)); // smaller: never shown
    time.advance(5_000);
    progress.onProgress({ tried: 10_000, expected: 100 }); // past the expected count
    time.advance(5_000);
    progress.onProgress({ tried: 20_000, expected: 100 }); // 99 again: no repeat
    time.advance(5_000);
    progress.onProgress({ tried: 5, expected: 0 }); // no division by zero
    await progress.settled();
    expect(shown).toEqual([20, 50, 99]);
  });

  it('runs edits one after another, and settled() waits for the last one', async () => {
    const time = clock();
    const edits = [deferred(), deferred()];
    const started: number[] = [];
    const progress = powProgress({
      show: (percent) => {
        started.push(percent);
        return edits[started.length - 1]?.promise ?? Promise.resolve();
      },
      now: time.now,
    });
    time.advance(1_000);
    progress.onProgress(tried(30));
    time.advance(1_000);
    progress.onProgress(tried(60));
    let settled = false;
    const waiting = progress.settled().then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(started).toEqual([30]); // the second edit waits for the first
    edits[0]?.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([30, 60]);
    expect(settled).toBe(false);
    edits[1]?.resolve();
    await waiting;
    expect(settled).toBe(true);
  });

  it('swallows a failed edit: later edits still run and settled() resolves', async () => {
    const time = clock();
    const shown: number[] = [];
    const progress = powProgress({
      show: (percent) => {
        shown.push(percent);
        return percent === 30
          ? Promise.reject(new Error('Bad Request: message to edit not found'))
          : Promise.resolve();
      },
      now: time.now,
    });
    time.advance(1_000);
    progress.onProgress(tried(30));
    time.advance(1_000);
    progress.onProgress(tried(60));
    await expect(progress.settled()).resolves.toBeUndefined();
    expect(shown).toEqual([30, 60]);
  });

  it('settles at once when nothing was shown', async () => {
    const progress = powProgress({
      show: () => Promise.reject(new Error('never called')),
      now: clock().now,
    });
    await expect(progress.settled()).resolves.toBeUndefined();
  });
});

describe('WorkingUsers', () => {
  it('lets each user run one proof of work at a time', () => {
    const working = new WorkingUsers();
    expect(working.start('telegram:1')).toBe(true);
    expect(working.has('telegram:1')).toBe(true);
    expect(working.start('telegram:1')).toBe(false);
    // Another user is not held up.
    expect(working.start('telegram:2')).toBe(true);
    working.finish('telegram:1');
    expect(working.has('telegram:1')).toBe(false);
    expect(working.start('telegram:1')).toBe(true);
    // Finishing twice, or someone who never started, changes nothing for others.
    working.finish('telegram:3');
    working.finish('telegram:1');
    working.finish('telegram:1');
    expect(working.has('telegram:2')).toBe(true);
  });
});
