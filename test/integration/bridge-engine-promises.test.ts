/**
 * The bridge engine keeps the client core's promises (issue #9), with a real Redis and BullMQ and
 * an in-memory Operator: blank texts and letters to oneself are refused, an old follow letter
 * delivered again does not undo an unfollow (nor announce a follower twice), and a post reaches
 * the followers whose keys can be sealed to while one whose key cannot is reported.
 */
import { describe, expect, it, vi } from 'vitest';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { ratchetKeyOf } from '../../client/index.js';
import { signReceipt } from '../../common/wire/index.js';
import { useEngineFixture } from '../support/engine-fixture.js';
import { bundleAtFake, craftedLetter, sideRatchet } from '../support/ratchet-pair.js';

const fx = useEngineFixture();

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

const followerNotices = (chat: string) => fx.noticesOf(chat, 'new-follower');

describe('BridgeEngine', () => {
  it('refuses blank letters, posts and collective messages, and letters to oneself', async () => {
    const ann = await fx.identity('ann');
    await fx.identity('ben');
    for (const blank of ['', '  ', '\n\t', '\u200b']) {
      expect(await codeOf(fx.engine.send(ann, '@ben', blank))).toBe('EMPTY_MESSAGE');
      expect(await codeOf(fx.engine.postToFollowers(ann, blank))).toBe('EMPTY_MESSAGE');
      expect(await codeOf(fx.engine.sendToCollective(ann, 'club', blank))).toBe('EMPTY_MESSAGE');
    }
    await expect(fx.engine.send(ann, '@ann', 'hi me')).rejects.toMatchObject({
      code: 'USAGE',
      message: 'You cannot send a letter to yourself.',
    });
    expect(fx.world.handedOver).toEqual([]);
  });

  it('an old follow letter delivered again after an unfollow neither follows nor notifies', async () => {
    const ann = await fx.identity('ann');
    const ben = await fx.identity('ben');
    await fx.engine.follow(ann, 'ben');
    await vi.waitFor(
      () => {
        expect(fx.engine.followers(ben)).toEqual(['ann']);
      },
      { timeout: 20_000, interval: 50 },
    );
    const [followLetter] = fx.world.handedOver;
    await fx.engine.unfollow(ann, 'ben');
    await vi.waitFor(
      () => {
        expect(fx.engine.followers(ben)).toEqual([]);
      },
      { timeout: 20_000, interval: 50 },
    );
    await fx.drained(ben, 'ben');

    // The Operator delivers the first follow letter again.
    await fx.world.operator.send({ name: 'ann', signSecret: new Uint8Array(64) }, [followLetter!]);
    await fx.drained(ben, 'ben');
    expect(fx.engine.followers(ben)).toEqual([]);
    expect(followerNotices('chat-ben')).toHaveLength(1);
  });

  it('posts to followers past one whose registered box key is all zeros', async () => {
    const ann = await fx.identity('ann');
    const ben = await fx.identity('ben');
    await fx.engine.follow(ann, 'ben');
    // Zed's record at the Operator carries an all-zero (low-order) box key.
    const zed = generateIdentityKeys();
    fx.world.operator.receipts.set(
      'zed',
      signReceipt(
        {
          name: 'zed',
          signKey: zed.signPublic,
          boxKey: new Uint8Array(32),
          keyHolder: 'self',
          ratchetKey: ratchetKeyOf(zed),
          registeredAt: Date.now(),
        },
        fx.world.operator.keys.signSecret,
      ),
    );
    // Zed follows ben in a real session of zed's (its key is registered; only its box key is bad).
    const zedRatchet = sideRatchet(zed, 'zed', (name) => bundleAtFake(fx.world.operator, name));
    const follow = await craftedLetter(
      zedRatchet,
      fx.world.operator.receipts.get('ben')!,
      {
        v: 2,
        kind: 'follow',
        from: 'zed',
        to: 'ben',
        sentAt: Date.now(),
        id: randomBytes(16),
        body: '',
      },
      zed,
      'zed',
    );
    await fx.world.operator.send({ name: 'zed', signSecret: zed.signSecret }, [
      { to: 'ben', sealed: follow },
    ]);
    await vi.waitFor(
      async () => {
        await fx.engine.pollNow(ben);
        expect(fx.engine.followers(ben)).toEqual(['ann', 'zed']);
      },
      { timeout: 20_000, interval: 100 },
    );

    const sent = await fx.engine.postToFollowers(ben, 'to my followers');
    expect(sent.followers).toEqual(['ann']);
    expect(sent.failed.map((f) => [f.name, f.code])).toEqual([['zed', 'KEY_INVALID']]);
    await vi.waitFor(
      () => {
        expect(fx.world.handedOver.filter((e) => e.to === 'ann')).toHaveLength(1);
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(fx.world.handedOver.filter((e) => e.to === 'zed')).toEqual([]);
  });
});
