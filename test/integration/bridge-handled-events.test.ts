/**
 * Platform events re-delivered after a crash, at the engine (real Redis and BullMQ, an in-memory
 * Operator): a command replayed under the same event key queues nothing and answers as the first
 * time, the outbox row and the event are written together, a send left in the outbox is sent by
 * the next engine on the same store, and the answer is given once.
 */
import { describe, expect, it, vi } from 'vitest';
import { useEngineFixture } from '../support/engine-fixture.js';

const fx = useEngineFixture();

/** Waits until the outbox is empty, then checks how many letters the Operator was handed. */
async function sentAll(count: number): Promise<void> {
  await vi.waitFor(
    () => {
      expect(fx.world.store.outboxRows()).toEqual([]);
    },
    { timeout: 20_000, interval: 50 },
  );
  expect(fx.world.handedOver).toHaveLength(count);
}

describe('events handled once', () => {
  it('a /send replayed under its event key queues nothing and answers as the first time', async () => {
    const ann = await fx.identity('ann');
    const ben = await fx.identity('ben');
    const event = { event: 'telegram:1:500' };
    const first = await fx.engine.send(ann, '@ben', 'only once', event);
    const again = await fx.engine.send(ann, '@ben', 'only once', event);
    expect(again).toEqual(first);
    await sentAll(1);
    // Without an event key (or under another one), a command is a new letter each time.
    await fx.engine.send(ann, '@ben', 'twice', { event: 'telegram:1:501' });
    await fx.engine.send(ann, '@ben', 'twice');
    await sentAll(3);
    await fx.drained(ben, 'ben');
  });

  it('follows, posts and collective messages replayed under their event key are queued once', async () => {
    const ann = await fx.identity('ann');
    const ben = await fx.identity('ben');
    const followed = await fx.engine.follow(ben, '@ann', { event: 'discord:7' });
    expect(await fx.engine.follow(ben, '@ann', { event: 'discord:7' })).toEqual({
      name: followed.name,
      added: false,
    });
    await sentAll(1);
    // Ann's bot reads the follow letter: ben is her follower now.
    await fx.drained(ann, 'ann');
    expect(fx.engine.followers(ann)).toEqual(['ben']);
    const post = await fx.engine.postToFollowers(ann, 'a post', { event: 'discord:8' });
    expect(await fx.engine.postToFollowers(ann, 'a post', { event: 'discord:8' })).toEqual(post);
    await fx.engine.createCollective(ann, 'club');
    // Nobody else is a member: nothing is queued, and the replay still answers as before.
    const alone = await fx.engine.sendToCollective(ann, 'club', 'hello', {
      event: 'discord-msg:9',
    });
    expect(alone.recipients).toBe(0);
    expect(
      await fx.engine.sendToCollective(ann, 'club', 'hello', { event: 'discord-msg:9' }),
    ).toEqual(alone);
    await sentAll(2);
  });

  it('records whether the answer was given, so a replay is answered once', async () => {
    const ann = await fx.identity('ann');
    await fx.identity('ben');
    const event = 'telegram:1:600';
    expect(fx.engine.eventAnswered(event)).toBe(false);
    await fx.engine.send(ann, '@ben', 'hi', { event });
    expect(fx.engine.eventAnswered(event)).toBe(false);
    fx.engine.markEventAnswered(event);
    expect(fx.engine.eventAnswered(event)).toBe(true);
    // An action that reaches the Operator directly is recorded once it succeeded.
    let runs = 0;
    const act = () =>
      fx.engine.once({ event: 'telegram:1:601' }, () => {
        runs++;
        return Promise.resolve({ expiresAt: 42 });
      });
    expect(await act()).toEqual({ expiresAt: 42 });
    expect(await act()).toEqual({ expiresAt: 42 });
    expect(runs).toBe(1);
  });

  it('a send left in the outbox by an engine that stopped is sent by the next one on the same store', async () => {
    const ann = await fx.identity('ann');
    const ben = await fx.identity('ben');
    // The Operator does not answer this engine's send: the row stays in the outbox.
    fx.world.bend.sendAnonymously = () => Promise.reject(new Error('unreachable'));
    await fx.engine.send(ann, '@ben', 'kept', { event: 'telegram:1:700' });
    await vi.waitFor(() => {
      expect(fx.world.handedOver.length).toBeGreaterThan(0);
    });
    expect(fx.world.store.outboxRows()).toHaveLength(1);
    delete fx.world.bend.sendAnonymously;
    const refused = fx.world.handedOver.length;
    await fx.restart();
    await fx.drained(ben, 'ben');
    expect(fx.world.store.outboxRows()).toEqual([]);
    // Handed over again by the new engine: the same sealed letter, the same letter id.
    expect(fx.world.handedOver.length).toBeGreaterThan(refused);
    const sealed = fx.world.handedOver.map((e) => Buffer.from(e.sealed).toString('base64'));
    expect(new Set(sealed).size).toBe(1);
    expect(fx.world.surface.letters.map((l) => [l.chat, l.letter.text])).toEqual([
      ['chat-ben', 'kept'],
    ]);
  });
});
