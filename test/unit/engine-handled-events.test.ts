/**
 * Platform events handled once, on a real SQLite bridge store: an action runs once per event and
 * a replay (also after the store was reopened) gets its result back, bytes included; a failed
 * action is not recorded; nothing is "answered" until marked so; events are forgotten only after
 * the retention period.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteBridgeStore } from '../../bridge/index.js';
import {
  HANDLED_EVENT_RETENTION_MS,
  HandledEvents,
  decodeResult,
  encodeResult,
} from '../../bridge/engine/handled-events.js';
import { randomBytes } from '../../common/crypto/index.js';

let dir: string;
let store: SqliteBridgeStore;
let now: number;
const keys = { vaultKey: randomBytes(32), lookupKey: randomBytes(32) };
const clock = () => now;

const openStore = () => new SqliteBridgeStore(join(dir, 'bridge.db'), keys, clock);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'komrade-handled-events-'));
  now = 1_700_000_000_000;
  store = openStore();
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Reopens the store (a crash and a restart) and a new HandledEvents on it. */
function restart(): HandledEvents {
  store.close();
  store = openStore();
  return new HandledEvents(store, clock);
}

describe('HandledEvents', () => {
  it('runs an action once per event; a replay, also after a restart, gets its result back', async () => {
    let events = new HandledEvents(store, clock);
    let runs = 0;
    const action = () => {
      runs++;
      return Promise.resolve({ id: Uint8Array.from([1, 2, 3]), runs });
    };
    const first = await events.once('telegram:1:5', action);
    expect(await events.once('telegram:1:5', action)).toEqual(first);
    events = restart();
    const replayed = await events.once('telegram:1:5', action);
    expect(runs).toBe(1);
    expect(replayed).toEqual({ id: Uint8Array.from([1, 2, 3]), runs: 1 });
    expect(replayed.id).toBeInstanceOf(Uint8Array);
    expect(events.replay('telegram:1:5')).toEqual({ result: first });
    // Another event, or none, runs it again.
    await events.once('telegram:1:6', action);
    await events.once(undefined, action);
    expect(runs).toBe(3);
    expect(events.replay(undefined)).toBeUndefined();
  });

  it('does not record an action that failed, so a replay runs it again', async () => {
    const events = new HandledEvents(store, clock);
    await expect(
      events.once('discord:1', () => Promise.reject(new Error('Operator down'))),
    ).rejects.toThrow('Operator down');
    expect(events.replay('discord:1')).toBeUndefined();
    expect(await events.once('discord:1', () => Promise.resolve('second try'))).toBe('second try');
  });

  it('keeps the first result of an event recorded twice', () => {
    const events = new HandledEvents(store, clock);
    expect(events.done('discord:2', { vouches: 1 })).toEqual({ vouches: 1 });
    events.done('discord:2', { vouches: 2 });
    events.record('discord:2', { vouches: 3 });
    expect(events.replay('discord:2')).toEqual({ result: { vouches: 1 } });
    // Without an event nothing is recorded, and the result is passed through.
    expect(events.done(undefined, 'x')).toBe('x');
  });

  it('answers an event only once marked, unknown events never, and remembers it across a restart', async () => {
    let events = new HandledEvents(store, clock);
    expect(events.answered('telegram:1:7')).toBe(false);
    await events.once('telegram:1:7', () => Promise.resolve(undefined));
    expect(events.answered('telegram:1:7')).toBe(false);
    events.markAnswered('telegram:1:7');
    // Marking an event never handled records nothing.
    events.markAnswered('telegram:1:8');
    events = restart();
    expect(events.answered('telegram:1:7')).toBe(true);
    expect(events.answered('telegram:1:8')).toBe(false);
    expect(events.replay('telegram:1:8')).toBeUndefined();
    // An action that returned nothing replays as null.
    expect(events.replay('telegram:1:7')).toEqual({ result: null });
  });

  it('forgets events only once they are older than the retention period', () => {
    const events = new HandledEvents(store, clock);
    events.record('old', 1);
    now += 2 * 86_400_000;
    events.record('recent', 2);
    now += HANDLED_EVENT_RETENTION_MS - 86_400_000;
    events.prune();
    expect(events.replay('old')).toBeUndefined();
    expect(events.replay('recent')).toEqual({ result: 2 });
  });
});

describe('encodeResult and decodeResult', () => {
  it('keep bytes as bytes at any depth, and a lookalike object as it was', () => {
    const value = {
      key: Uint8Array.from([0, 255]),
      list: [Uint8Array.from([7]), 'text', 3, null],
      lookalike: { $bytes: 'AAE', other: true },
      notBase64: { $bytes: '!!' },
    };
    const back = decodeResult(encodeResult(value));
    expect(back).toEqual(value);
    expect((back as { key: unknown }).key).toBeInstanceOf(Uint8Array);
    expect(encodeResult(undefined)).toBe('null');
  });
});
