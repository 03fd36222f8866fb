/**
 * The client keeps world-feed posts to their author's lifetime by its own clock and the post's
 * signed fields, whatever the Operator serves: expired posts and posts dated in the future are
 * dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KomradeClient, SqliteLocalStore, type LocalStore } from '../../bridge/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { CLOCK_SKEW_MS, signPost } from '../../common/wire/index.js';
import { FakeOperator } from '../support/fake-operator.js';

const DAY_MS = 86_400_000;

let dir: string;
let operator: FakeOperator;
let clock: number;
const stores: LocalStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-feed-'));
  clock = 1_700_000_000_000;
  // The fake Operator serves every post it holds, expired or not: a lying Operator.
  operator = new FakeOperator(() => clock);
});
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function registered(name: string): Promise<{ client: KomradeClient; keys: IdentityKeys }> {
  const store = new SqliteLocalStore(join(dir, `${name}.db`), { storageKey: randomBytes(32) });
  stores.push(store);
  const keys = generateIdentityKeys();
  const client = new KomradeClient({ operator, store, keys, now: () => clock, keyHolder: 'self' });
  await client.register(name);
  return { client, keys };
}

describe('feed expiry by the client clock', () => {
  it('shows a post until postedAt + days, and drops it from then on', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const posted = await alice.client.post('three days', 3);
    clock = posted.postedAt + 3 * DAY_MS - 1;
    expect((await bob.client.feed()).posts.map((p) => p.text)).toEqual(['three days']);
    clock = posted.postedAt + 3 * DAY_MS;
    expect(await bob.client.feed()).toMatchObject({ posts: [], dropped: 1 });
  });

  it('drops an expired post the Operator still serves, by its signed fields', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    operator.posts.unshift(
      signPost(
        {
          v: 1,
          from: 'alice',
          postedAt: clock - 10 * DAY_MS,
          id: randomBytes(16),
          days: 2,
          body: 'long gone',
        },
        alice.keys.signSecret,
      ),
    );
    await alice.client.post('current', 1);
    const feed = await bob.client.feed();
    expect(feed.posts.map((p) => p.text)).toEqual(['current']);
    expect(feed.dropped).toBe(1);
  });

  it('drops a post claiming a time in the future (beyond the clock skew)', async () => {
    const alice = await registered('alice');
    const bob = await registered('bob');
    const future = (postedAt: number, body: string) =>
      signPost(
        { v: 1, from: 'alice', postedAt, id: randomBytes(16), days: 1, body },
        alice.keys.signSecret,
      );
    operator.posts.unshift(future(clock + 2 * DAY_MS, 'from the future'));
    operator.posts.unshift(future(clock + CLOCK_SKEW_MS + 1, 'just too early'));
    // Within the skew a slightly fast author clock is tolerated.
    operator.posts.unshift(future(clock + 1_000, 'slightly fast clock'));
    const feed = await bob.client.feed();
    expect(feed.posts.map((p) => p.text)).toEqual(['slightly fast clock']);
    expect(feed.dropped).toBe(2);
  });
});
