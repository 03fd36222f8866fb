/**
 * The client keeps world-feed posts to their author's lifetime by its own clock and the post's
 * signed fields, whatever the Operator serves: expired posts and posts dated in the future are
 * dropped.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from '../../common/crypto/index.js';
import { CLOCK_SKEW_MS, signPost } from '../../common/wire/index.js';
import { useClientWorld } from '../support/client-fixture.js';

const DAY_MS = 86_400_000;

// The fake Operator serves every post it holds, expired or not: a lying Operator.
const world = useClientWorld('komrade-feed-');

describe('feed expiry by the client clock', () => {
  it('shows a post until postedAt + days, and drops it from then on', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const posted = await alice.client.post('three days', 3);
    world.clock = posted.postedAt + 3 * DAY_MS - 1;
    expect((await bob.client.feed()).posts.map((p) => p.text)).toEqual(['three days']);
    world.clock = posted.postedAt + 3 * DAY_MS;
    expect(await bob.client.feed()).toMatchObject({ posts: [], dropped: 1 });
  });

  it('drops an expired post the Operator still serves, by its signed fields', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    world.operator.posts.unshift(
      signPost(
        {
          v: 1,
          from: 'alice',
          postedAt: world.clock - 10 * DAY_MS,
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
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    const future = (postedAt: number, body: string) =>
      signPost(
        { v: 1, from: 'alice', postedAt, id: randomBytes(16), days: 1, body },
        alice.keys.signSecret,
      );
    world.operator.posts.unshift(future(world.clock + 2 * DAY_MS, 'from the future'));
    world.operator.posts.unshift(future(world.clock + CLOCK_SKEW_MS + 1, 'just too early'));
    // Within the skew a slightly fast author clock is tolerated.
    world.operator.posts.unshift(future(world.clock + 1_000, 'slightly fast clock'));
    const feed = await bob.client.feed();
    expect(feed.posts.map((p) => p.text)).toEqual(['slightly fast clock']);
    expect(feed.dropped).toBe(2);
  });
});
