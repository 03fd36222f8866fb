/**
 * MailWatcher against a scripted OperatorClient (it stands for the port): grouping, regrouping,
 * wake-ups, backoff and catch-up, the fallback for Operators that cannot wait, and close. Time is
 * an injected clock and sleeps are resolved by the test: no timers, no timing assertions.
 */
import { describe, expect, it } from 'vitest';
import type { MailWaitOptions, OperatorClient, RequestSigner } from '../../client/index.js';
import { KomradeError } from '../../common/errors/index.js';
import type { LogFields, Logger } from '../../common/logging/index.js';
import { MailWatcher, type MailWatcherDeps } from '../../bridge/engine/mail-watcher.js';

/** One `waitForMail` call the test answers. */
interface WaitCall {
  readonly key: string;
  readonly identities: readonly string[];
  readonly waitMs: number;
  readonly signal: AbortSignal | undefined;
  answer(ready: readonly string[]): void;
  fail(error: unknown): void;
}

/** One sleep the test ends (an abort ends it too, as the real one does). */
interface SleepCall {
  readonly ms: number;
  readonly signal: AbortSignal;
  wake(): void;
}

/** A queue the loops push into and the test pulls from, in order. */
class Inbox<T> {
  readonly #items: T[] = [];
  readonly #takers: ((item: T) => void)[] = [];
  push(item: T): void {
    const taker = this.#takers.shift();
    if (taker === undefined) this.#items.push(item);
    else taker(item);
  }
  next(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.#takers.push(resolve));
  }
  get queued(): number {
    return this.#items.length;
  }
}

const nameOf = (identity: string) => `n-${identity}`;
const identityOfName = (name: string) => name.slice(2);
const unused = () => Promise.reject(new Error('not part of the script'));

/** Flushes pending promise callbacks (the loops' microtasks). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function scripted(options: Partial<MailWatcherDeps> = {}) {
  const waits = new Inbox<WaitCall>();
  const sleeps = new Inbox<SleepCall>();
  const keys: string[] = [];
  const mail: string[] = [];
  const logs: { level: string; event: string; fields: LogFields | undefined }[] = [];
  const clock = { now: 1_000_000 };
  const unsigned = new Set<string>();
  const log =
    (level: string) =>
    (event: string, fields?: LogFields): void => {
      logs.push({ level, event, fields });
    };
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
  const operatorFor = (key: string): OperatorClient => {
    keys.push(key);
    return {
      info: unused,
      register: unused,
      lookup: unused,
      setRatchetKey: unused,
      logCheckpoint: unused,
      logConsistency: unused,
      logEntries: unused,
      uploadPrekeys: unused,
      fetchPrekeyBundle: unused,
      issueTokens: unused,
      sendAnonymously: unused,
      fetch: unused,
      ack: unused,
      post: unused,
      feedPage: unused,
      createCollective: unused,
      appendEvent: unused,
      collectiveHead: unused,
      collectiveLog: unused,
      sendToCollective: unused,
      waitForMail: (signers: readonly RequestSigner[], opts: MailWaitOptions) =>
        new Promise((resolve, reject) => {
          opts.signal?.addEventListener('abort', () => {
            reject(new DOMException('aborted', 'AbortError'));
          });
          waits.push({
            key,
            identities: signers.map((s) => identityOfName(s.name)),
            waitMs: opts.waitMs,
            signal: opts.signal,
            answer: (ready) => {
              resolve({ ready });
            },
            fail: reject,
          });
        }),
    };
  };
  const watcher = new MailWatcher({
    operatorFor,
    signerOf: (identity) =>
      unsigned.has(identity)
        ? undefined
        : { name: nameOf(identity), signSecret: new Uint8Array(64) },
    onMail: (identity) => {
      mail.push(identity);
    },
    groupSize: 2,
    waitMs: 55_000,
    fallbackPollMs: 30_000,
    retryWaitMs: 600_000,
    logger,
    random: () => 0.5,
    now: () => clock.now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          resolve();
        });
        sleeps.push({ ms, signal, wake: resolve });
      }),
    ...options,
  });
  return { watcher, waits, sleeps, keys, mail, logs, clock, unsigned };
}

/** 55 s less a tenth of it times `random()` (0.5 here): waits drift apart. */
const WAIT_MS = 52_250;

const sorted = (items: readonly string[]) => [...items].sort();

describe('MailWatcher: groups', () => {
  it('splits identities into groups of at most groupSize, each waiting on its own circuit', async () => {
    const { watcher, waits, keys } = scripted({ groupSize: 2 });
    watcher.start(['a', 'b', 'c', 'd', 'e']);
    const calls = [await waits.next(), await waits.next(), await waits.next()];
    expect(watcher.groups).toBe(3);
    expect(new Set(keys).size).toBe(3);
    expect(keys.every((k) => k.startsWith('wait-'))).toBe(true);
    expect(new Set(calls.map((c) => c.key)).size).toBe(3);
    expect(calls.every((c) => c.identities.length <= 2)).toBe(true);
    expect(sorted(calls.flatMap((c) => c.identities))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(calls.every((c) => c.waitMs === WAIT_MS)).toBe(true);
    await settle();
    expect(waits.queued).toBe(0);
    await watcher.close();
  });

  it('with groupSize 1 every identity waits alone on a circuit no other identity uses', async () => {
    const { watcher, waits, keys } = scripted({ groupSize: 1 });
    watcher.start(['a', 'b', 'c']);
    const calls = [await waits.next(), await waits.next(), await waits.next()];
    expect(calls.map((c) => c.identities.length)).toEqual([1, 1, 1]);
    expect(new Set(keys).size).toBe(3);
    // Never an identity's own isolation key: waits do not share a circuit with its fetches.
    expect(keys.some((k) => ['a', 'b', 'c'].includes(k))).toBe(false);
    await watcher.close();
  });

  it('one group of 1,000 covers 1,000 identities in one request', async () => {
    const { watcher, waits } = scripted({ groupSize: 1_000 });
    const many = Array.from({ length: 1_000 }, (_, i) => `id${i}`);
    watcher.start(many);
    const call = await waits.next();
    expect(call.identities).toHaveLength(1_000);
    expect(watcher.groups).toBe(1);
    await watcher.close();
  });

  it('waits of different lengths, so groups started together do not renew in step', async () => {
    let r = 0;
    const { watcher, waits } = scripted({ groupSize: 1, random: () => [0, 0.999][r++ % 2] ?? 0 });
    watcher.start(['a', 'b']);
    const lengths = [(await waits.next()).waitMs, (await waits.next()).waitMs];
    expect(lengths).toEqual([55_000, 49_506]);
    await watcher.close();
  });

  it('refuses a group size that is not a positive integer', () => {
    for (const groupSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => scripted({ groupSize })).toThrow(RangeError);
    }
  });

  it('leaves out identities without a signer (not registered yet)', async () => {
    const { watcher, waits, unsigned } = scripted({ groupSize: 3 });
    unsigned.add('b');
    watcher.start(['a', 'b', 'c']);
    const call = await waits.next();
    expect(sorted(call.identities)).toEqual(['a', 'c']);
    await watcher.close();
  });
});

describe('MailWatcher: regrouping', () => {
  it('add renews the wait of a group with room, checks the new identity at once, then waits on it', async () => {
    const { watcher, waits, mail, clock } = scripted({ groupSize: 2 });
    watcher.start(['a']);
    const first = await waits.next();
    watcher.add('b');
    expect(mail).toEqual(['b']);
    expect(first.signal?.aborted).toBe(true);
    // The renewed wait still covers `a` (whose mail the Operator reports at once, so nothing is
    // lost by the abort); `b` was just checked and sits out until its first second is over.
    const renewed = await waits.next();
    expect(renewed.key).toBe(first.key);
    expect(renewed.identities).toEqual(['a']);
    expect(renewed.waitMs).toBe(1_000);
    clock.now += 1_000;
    renewed.answer([]);
    const both = await waits.next();
    expect(sorted(both.identities)).toEqual(['a', 'b']);
    expect(both.waitMs).toBe(WAIT_MS);
    await watcher.close();
  });

  it('add to full groups opens a new group', async () => {
    const { watcher, waits, keys } = scripted({ groupSize: 2 });
    watcher.start(['a', 'b']);
    const first = await waits.next();
    watcher.add('c');
    expect(first.signal?.aborted).toBe(false);
    expect(watcher.groups).toBe(2);
    expect(new Set(keys).size).toBe(2);
    await watcher.close();
  });

  it('remove renews the group wait without the identity, and an emptied group stops waiting', async () => {
    const { watcher, waits } = scripted({ groupSize: 2 });
    watcher.start(['a', 'b', 'c']);
    const calls = [await waits.next(), await waits.next()];
    const pair = calls.find((c) => c.identities.length === 2);
    const single = calls.find((c) => c.identities.length === 1);
    if (pair === undefined || single === undefined) throw new Error('expected groups of 2 and 1');
    const [gone = '', kept = ''] = pair.identities;
    watcher.remove(gone);
    expect(pair.signal?.aborted).toBe(true);
    const renewed = await waits.next();
    expect(renewed.identities).toEqual([kept]);

    watcher.remove(single.identities[0] ?? '');
    expect(single.signal?.aborted).toBe(true);
    await settle();
    expect(waits.queued).toBe(0);
    expect(watcher.groups).toBe(1);
    watcher.remove('never-added');
    await watcher.close();
  });

  it('a removed identity is not woken even if a late answer names it', async () => {
    const { watcher, waits, mail } = scripted({ groupSize: 2 });
    watcher.start(['a', 'b']);
    const call = await waits.next();
    watcher.remove('b');
    call.answer([nameOf('b')]);
    await waits.next();
    expect(mail).toEqual([]);
    await watcher.close();
  });
});

describe('MailWatcher: wake-ups', () => {
  it('calls onMail for each ready mailbox, and ignores names it did not ask about', async () => {
    const { watcher, waits, mail } = scripted({ groupSize: 3 });
    watcher.start(['a', 'b', 'c']);
    const call = await waits.next();
    call.answer([nameOf('a'), nameOf('c'), 'n-stranger', 'not-a-name']);
    await waits.next();
    expect(sorted(mail)).toEqual(['a', 'c']);
    await watcher.close();
  });

  it('a woken identity sits out while its mail is fetched, then is waited on again', async () => {
    const { watcher, waits, mail, clock } = scripted({ groupSize: 2 });
    watcher.start(['a', 'b']);
    (await waits.next()).answer([nameOf('a')]);
    const next = await waits.next();
    expect(mail).toEqual(['a']);
    expect(next.identities).toEqual(['b']);
    expect(next.waitMs).toBe(1_000);
    clock.now += 1_000;
    next.answer([]);
    const again = await waits.next();
    expect(sorted(again.identities)).toEqual(['a', 'b']);
    // Still ready (not acknowledged yet): woken again, and it sits out twice as long.
    again.answer([nameOf('a')]);
    const third = await waits.next();
    expect(mail).toEqual(['a', 'a']);
    expect(third.waitMs).toBe(2_000);
    await watcher.close();
  });

  it('mail that comes later is new: the cooldown starts over at one second', async () => {
    const { watcher, waits, mail, clock } = scripted({ groupSize: 2 });
    watcher.start(['a', 'b']);
    (await waits.next()).answer([nameOf('a')]);
    const out = await waits.next();
    clock.now += 1_000;
    out.answer([]);
    // Its mail is still there when it comes back: twice as long.
    (await waits.next()).answer([nameOf('a')]);
    const longer = await waits.next();
    expect(longer.waitMs).toBe(2_000);
    clock.now += 2_000;
    longer.answer([]);
    // Held for a while, then answered: a new letter, so one second again.
    const held = await waits.next();
    expect(sorted(held.identities)).toEqual(['a', 'b']);
    clock.now += 30_000;
    held.answer([nameOf('a')]);
    expect((await waits.next()).waitMs).toBe(1_000);
    expect(mail).toEqual(['a', 'a', 'a']);
    await watcher.close();
  });

  it('an onMail still running keeps the identity out until it settles, then renews the wait', async () => {
    let finish = () => {};
    const pending = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const { watcher, waits, clock } = scripted({ groupSize: 2, onMail: () => pending });
    watcher.start(['a', 'b']);
    (await waits.next()).answer([nameOf('a')]);
    const during = await waits.next();
    clock.now += 1_000;
    during.answer([]);
    const stillOut = await waits.next();
    expect(stillOut.identities).toEqual(['b']);
    expect(stillOut.waitMs).toBe(WAIT_MS);
    finish();
    await settle();
    expect(stillOut.signal?.aborted).toBe(true);
    const back = await waits.next();
    expect(sorted(back.identities)).toEqual(['a', 'b']);
    await watcher.close();
  });

  it('an onMail that throws is logged by code and the loop goes on', async () => {
    const { watcher, waits, sleeps, logs, clock } = scripted({
      groupSize: 1,
      onMail: () => Promise.reject(new KomradeError('OPERATOR_UNREACHABLE', 'down')),
    });
    watcher.start(['a']);
    (await waits.next()).answer([nameOf('a')]);
    await settle();
    expect(logs).toContainEqual({
      level: 'warn',
      event: 'bridge.mail_notify_failed',
      fields: { code: 'OPERATOR_UNREACHABLE' },
    });
    // Its only member sits out its first second, then is waited on again.
    const pause = await sleeps.next();
    expect(pause.ms).toBe(1_000);
    clock.now += 1_000;
    pause.wake();
    expect((await waits.next()).identities).toEqual(['a']);
    await watcher.close();
  });
});

describe('MailWatcher: failures', () => {
  it('backs off 1 s, 2 s … 30 s on transient failures, then fetches what came meanwhile', async () => {
    const { watcher, waits, sleeps, mail, logs } = scripted({ groupSize: 3 });
    watcher.start(['a', 'b', 'c']);
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      (await waits.next()).fail(new KomradeError('OPERATOR_UNREACHABLE', 'down'));
      const sleep = await sleeps.next();
      delays.push(sleep.ms);
      sleep.wake();
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(mail).toEqual([]);
    // Reconnected: the Operator answers at once for the mailboxes whose mail came meanwhile
    // (it keeps mail until fetched), and only those are fetched: no circuit per member.
    const back = await waits.next();
    expect(sorted(back.identities)).toEqual(['a', 'b', 'c']);
    back.answer([nameOf('a'), nameOf('c')]);
    const after = await waits.next();
    expect(sorted(mail)).toEqual(['a', 'c']);
    expect(after.identities).toEqual(['b']);
    const warned = logs.filter((l) => l.event === 'bridge.wait_failed' && l.level === 'warn');
    expect(warned).toHaveLength(1);
    expect(logs.some((l) => l.event === 'bridge.wait_resumed')).toBe(true);
    // Nothing secret in the logs: only codes and numbers.
    expect(JSON.stringify(logs)).not.toContain('n-a');
    await watcher.close();
  });

  it('the backoff has jitter', async () => {
    const { watcher, waits, sleeps } = scripted({ groupSize: 1, random: () => 0 });
    watcher.start(['a']);
    (await waits.next()).fail(new Error('socket hang up'));
    expect((await sleeps.next()).ms).toBe(800);
    await watcher.close();
  });

  it('a successful wait after failures starts the backoff over', async () => {
    const { watcher, waits, sleeps } = scripted({ groupSize: 1 });
    watcher.start(['a']);
    for (let i = 0; i < 3; i++) {
      (await waits.next()).fail(new KomradeError('OPERATOR_UNREACHABLE', 'down'));
      (await sleeps.next()).wake();
    }
    (await waits.next()).answer([]);
    (await waits.next()).fail(new KomradeError('OPERATOR_UNREACHABLE', 'down'));
    expect((await sleeps.next()).ms).toBe(1_000);
    await watcher.close();
  });

  it('an Operator without waiting (NOT_FOUND) is polled every fallbackPollMs, said once, and asked to wait again later', async () => {
    const { watcher, waits, sleeps, mail, logs, clock } = scripted({ groupSize: 2 });
    watcher.start(['a', 'b', 'c']);
    const notFound = () => new KomradeError('NOT_FOUND', 'no such route');
    (await waits.next()).fail(notFound());
    (await waits.next()).fail(notFound());
    await settle();
    expect(sorted(mail)).toEqual(['a', 'b', 'c']);
    const unsupported = logs.filter((l) => l.event === 'bridge.wait_unsupported');
    expect(unsupported).toHaveLength(1);
    expect(unsupported[0]?.level).toBe('warn');

    const s1 = await sleeps.next();
    const s2 = await sleeps.next();
    expect([s1.ms, s2.ms]).toEqual([30_000, 30_000]);
    clock.now += 30_000;
    s1.wake();
    s2.wake();
    await settle();
    expect(mail).toHaveLength(6);
    expect(waits.queued).toBe(0);

    // Ten minutes on, each group asks to wait again; now it works.
    clock.now += 570_000;
    (await sleeps.next()).wake();
    (await sleeps.next()).wake();
    const retried = [await waits.next(), await waits.next()];
    expect(sorted(retried.flatMap((c) => c.identities))).toEqual(['a', 'b', 'c']);
    expect(logs.filter((l) => l.event === 'bridge.wait_unsupported')).toHaveLength(1);
    await watcher.close();
  });

  it('a refused wait (a bad proof, an unknown name) is polled instead, not retried in a loop', async () => {
    const { watcher, waits, sleeps, mail, logs } = scripted({ groupSize: 2 });
    watcher.start(['a', 'b']);
    (await waits.next()).fail(new KomradeError('NAME_UNKNOWN', 'mailbox 1 is not registered'));
    const sleep = await sleeps.next();
    expect(sleep.ms).toBe(30_000);
    expect(sorted(mail)).toEqual(['a', 'b']);
    expect(logs).toContainEqual({
      level: 'warn',
      event: 'bridge.wait_refused',
      fields: { code: 'NAME_UNKNOWN', retryMs: 600_000 },
    });
    expect(waits.queued).toBe(0);
    await watcher.close();
  });
});

describe('MailWatcher: close', () => {
  it('aborts every wait and sleep and resolves once the loops ended', async () => {
    const { watcher, waits, sleeps, mail } = scripted({ groupSize: 1 });
    watcher.start(['a', 'b']);
    const waiting = await waits.next();
    (await waits.next()).fail(new KomradeError('OPERATOR_UNREACHABLE', 'down'));
    const sleeping = await sleeps.next();
    await watcher.close();
    expect(waiting.signal?.aborted).toBe(true);
    expect(sleeping.signal.aborted).toBe(true);
    expect(watcher.groups).toBe(0);
    watcher.add('c');
    await settle();
    expect(waits.queued).toBe(0);
    expect(mail).toEqual([]);
  });

  it('waits for onMail calls in progress', async () => {
    let finish = () => {};
    let finished = false;
    const { watcher, waits, sleeps } = scripted({
      groupSize: 1,
      onMail: () =>
        new Promise<void>((resolve) => {
          finish = () => {
            finished = true;
            resolve();
          };
        }),
    });
    watcher.start(['a']);
    (await waits.next()).answer([nameOf('a')]);
    await sleeps.next();
    const closed = watcher.close();
    await settle();
    expect(finished).toBe(false);
    finish();
    await closed;
    expect(finished).toBe(true);
  });
});
