/**
 * Acks waiting for a ride (bridge/engine/pending-acks.ts): ids ride on the identity's next fetch
 * when it comes within the delay, else go alone; a failed fetch or ack keeps them; `done` runs
 * only once the Operator deleted every id it covers; shutdown sends what waits.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PendingAcks } from '../../bridge/engine/pending-acks.js';
import { silentLogger } from '../../common/logging/index.js';
import { MAX_ACK_IDS } from '../../common/wire/index.js';

const id = (n: number) => Uint8Array.of(n);
const RIDE_MS = 1_000;

let sent: { identity: string; ids: number[] }[];
let failAlone: number;
let acks: PendingAcks;

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  failAlone = 0;
  acks = new PendingAcks({
    ackAlone: (identity, ids) => {
      if (failAlone > 0) {
        failAlone--;
        return Promise.reject(new Error('unreachable'));
      }
      sent.push({ identity, ids: ids.map((b) => b[0] ?? -1) });
      return Promise.resolve();
    },
    logger: silentLogger,
    rideMs: RIDE_MS,
  });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('PendingAcks', () => {
  it('lets the next fetch carry the ids, and runs done only once that fetch was answered', async () => {
    const done = vi.fn();
    acks.add('ann', [id(1), id(2)], done);
    acks.add('ann', [id(3)]);
    await vi.advanceTimersByTimeAsync(RIDE_MS - 1);
    const ride = acks.take('ann');
    expect(ride.ids.map((b) => b[0])).toEqual([1, 2, 3]);
    expect(done).not.toHaveBeenCalled();
    ride.settle(true);
    expect(done).toHaveBeenCalledOnce();
    // Nothing is left to go alone.
    await vi.advanceTimersByTimeAsync(RIDE_MS * 5);
    expect(sent).toEqual([]);
    expect(acks.take('ann').ids).toEqual([]);
  });

  it('sends the ids alone when no fetch comes within the delay', async () => {
    const done = vi.fn();
    acks.add('ann', [id(1)], done);
    acks.add('ben', [id(2)]);
    await vi.advanceTimersByTimeAsync(RIDE_MS - 1);
    expect(sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([
      { identity: 'ann', ids: [1] },
      { identity: 'ben', ids: [2] },
    ]);
    expect(done).toHaveBeenCalledOnce();
  });

  it('keeps the ids of a failed fetch for the next ride, or alone after the delay', async () => {
    const done = vi.fn();
    acks.add('ann', [id(1)], done);
    const ride = acks.take('ann');
    expect(acks.waiting('ann')).toBe(0);
    ride.settle(false);
    expect(done).not.toHaveBeenCalled();
    expect(acks.waiting('ann')).toBe(1);
    await vi.advanceTimersByTimeAsync(RIDE_MS);
    expect(sent).toEqual([{ identity: 'ann', ids: [1] }]);
    expect(done).toHaveBeenCalledOnce();
  });

  it('tries a failed ack alone again, backing off, until it goes', async () => {
    const done = vi.fn();
    failAlone = 2;
    acks.add('ann', [id(1)], done);
    await vi.advanceTimersByTimeAsync(RIDE_MS);
    expect(acks.waiting('ann')).toBe(1);
    await vi.advanceTimersByTimeAsync(RIDE_MS * 2);
    expect(acks.waiting('ann')).toBe(1);
    expect(done).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(RIDE_MS * 4);
    expect(sent).toEqual([{ identity: 'ann', ids: [1] }]);
    expect(done).toHaveBeenCalledOnce();
  });

  it('lets a fetch carry ids that failed alone, before the retry', async () => {
    failAlone = 1;
    acks.add('ann', [id(7)]);
    await vi.advanceTimersByTimeAsync(RIDE_MS);
    const ride = acks.take('ann');
    expect(ride.ids.map((b) => b[0])).toEqual([7]);
    ride.settle(true);
    await vi.advanceTimersByTimeAsync(RIDE_MS * 10);
    expect(sent).toEqual([]);
  });

  it('takes at most the ids asked for, keeping a delivery’s ids and its done together', () => {
    const first = vi.fn();
    const second = vi.fn();
    acks.add('ann', [id(1), id(2)], first);
    acks.add('ann', [id(3), id(4)], second);
    const ride = acks.take('ann', 3);
    expect(ride.ids.map((b) => b[0])).toEqual([1, 2]);
    ride.settle(true);
    expect(first).toHaveBeenCalledOnce();
    expect(second).not.toHaveBeenCalled();
    expect(acks.waiting('ann')).toBe(2);
  });

  it('never puts more than MAX_ACK_IDS in one request', async () => {
    const done = vi.fn();
    const many = Array.from({ length: MAX_ACK_IDS + 5 }, (_, i) => id(i % 256));
    acks.add('ann', many, done);
    expect(acks.take('ann').ids).toHaveLength(MAX_ACK_IDS);
    await vi.advanceTimersByTimeAsync(RIDE_MS);
    expect(sent.map((s) => s.ids.length)).toEqual([5]);
    // `done` follows the last part (harmless early: a letter still there is fetched, found
    // shown, and acked again).
    expect(done).toHaveBeenCalledOnce();
  });

  it('sends what waits alone at close, and whatever is added after at once', async () => {
    acks.add('ann', [id(1)]);
    acks.add('ben', [id(2)]);
    await acks.close();
    expect(sent.map((s) => s.identity).sort()).toEqual(['ann', 'ben']);
    acks.add('cat', [id(3)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.at(-1)).toEqual({ identity: 'cat', ids: [3] });
  });

  it('runs done at once for no ids', () => {
    const done = vi.fn();
    acks.add('ann', [], done);
    expect(done).toHaveBeenCalledOnce();
    expect(acks.take('ann').ids).toEqual([]);
  });
});
