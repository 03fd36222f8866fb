/**
 * Followers from Telegram: the real grammY bot against the Bot API emulator, a real Redis and a
 * real Operator. A follow is a sealed letter to the author; a post to followers is one sealed
 * letter per follower; unfollowing and blocking keep posts and follows away.
 */
import { describe, expect, it } from 'vitest';
import { dumpRedis } from '../support/redis-server.js';
import { settle, telegramUser } from '../support/telegram-bridge.js';
import { useTelegramStack } from '../support/use-telegram-stack.js';

const MARKER = `follower-post-${Date.now().toString(36)}`;

const ann = telegramUser('Ann');
const ben = telegramUser('Ben');
const eve = telegramUser('Eve');

const stack = useTelegramStack({ ann, ben, eve });
const { emulator } = stack;

/** Runs every identity's poll once more and waits for the queues to settle. */
const settleAll = () => settle(stack.bridge, [ann, ben, eve]);

const postsShown = (chatId: number, text: string) =>
  emulator
    .botMessages(chatId)
    .filter((m) => m.text.includes('📣 Post from') && m.text.includes(text));

describe('komrade-telegram followers', () => {
  it('lists the follower commands in /help', async () => {
    emulator.userSends(ann, '/help');
    const help = await emulator.waitForBotMessage(ann.id, /Commands:/);
    expect(help.text).toMatch(/\/postfollowers text — Post to your followers only/);
    expect(help.text).toMatch(/\/followers — Who follows you/);
    emulator.userSends(ben, '/postfollowers');
    await emulator.waitForBotMessage(ben.id, /Usage: \/postfollowers text/);
    emulator.userSends(ben, '/postfollowers nobody is listening');
    await emulator.waitForBotMessage(ben.id, /no followers yet, so nothing was sent/);
  });

  it('Ann follows Ben: Ben is told, and a follower post reaches Ann exactly once', async () => {
    emulator.userSends(ann, '/follow @ben');
    await emulator.waitForBotMessage(ann.id, /You follow @ben\./);
    await emulator.waitForBotMessage(ben.id, /@ann now follows you\./);
    // The follow is not a letter: nothing to accept or answer.
    expect(emulator.botMessages(ben.id).some((m) => /etter from @ann/.test(m.text))).toBe(false);
    emulator.userSends(ben, '/followers');
    await emulator.waitForBotMessage(ben.id, /Your followers: @ann/);

    emulator.userSends(ben, `/postfollowers first ${MARKER}`);
    await emulator.waitForBotMessage(ben.id, /Sealed for 1 follower and on its way/);
    const post = await emulator.waitForBotMessage(
      ann.id,
      (m) => m.text.includes('📣 Post from @ben') && m.text.includes(MARKER),
    );
    expect(post.reply_markup).toBeUndefined();
    await settleAll();
    expect(postsShown(ann.id, MARKER)).toHaveLength(1);

    // Not on the world feed.
    emulator.userSends(ann, '/feed');
    await emulator.waitForBotMessage(ann.id, /world feed is empty/);
    emulator.userSends(ann, '/inbox');
    await emulator.waitForBotMessage(ann.id, (m) => m.text.startsWith('📣 post from @ben'));
  });

  it('after Ann unfollows, Ben’s next follower post does not reach her', async () => {
    emulator.userSends(ann, '/unfollow @ben');
    await emulator.waitForBotMessage(ann.id, /no longer follow @ben/);
    await settleAll();
    emulator.userSends(ben, '/followers');
    await emulator.waitForBotMessage(ben.id, /Nobody follows you yet/);
    emulator.userSends(ben, '/postfollowers second post after unfollow');
    // Ben's first /postfollowers (in the /help test) got the same answer: wait for a second one.
    await emulator.waitFor(() =>
      emulator.botMessages(ben.id).filter((m) => /no followers yet/.test(m.text)).length >= 2
        ? true
        : undefined,
    );
    await settleAll();
    expect(postsShown(ann.id, 'second post after unfollow')).toHaveLength(0);
  });

  it('ignores the follow of a blocked komrade', async () => {
    emulator.userSends(eve, '/send @ben buy my stuff');
    const spam = await emulator.waitForBotMessage(
      ben.id,
      (m) => m.text.includes('from @eve') && m.text.includes('buy my stuff'),
    );
    emulator.userClicks(ben, spam.message_id, 'blk:eve');
    await emulator.waitForBotMessage(ben.id, /Blocked @eve/);
    emulator.userSends(eve, '/follow @ben');
    await emulator.waitForBotMessage(eve.id, /You follow @ben\./);
    await settleAll();
    expect(emulator.botMessages(ben.id).some((m) => /@eve now follows you/.test(m.text))).toBe(
      false,
    );
    const benId = stack.bridge.adapter.engine.identityOf(`telegram:${ben.id}`)!.id;
    expect(stack.bridge.adapter.engine.followers(benId)).toEqual([]);
  });

  it('keeps follower posts out of Redis and drops followers with a forgotten identity', async () => {
    await stack.bridge.drained();
    expect(await dumpRedis(stack.redis)).not.toContain(MARKER);
    emulator.userSends(ann, '/follow @ben');
    // Ann followed Ben once before: wait for the bot's second confirmation, then Ben's second notice.
    const count = (chatId: number, pattern: RegExp) =>
      emulator.botMessages(chatId).filter((m) => pattern.test(m.text)).length;
    await emulator.waitFor(() => (count(ann.id, /You follow @ben\./) >= 2 ? true : undefined));
    await emulator.waitFor(() => (count(ben.id, /@ann now follows you\./) >= 2 ? true : undefined));
    await settleAll();
    const benId = stack.bridge.adapter.engine.identityOf(`telegram:${ben.id}`)!.id;
    expect(stack.bridge.adapter.engine.followers(benId)).toEqual(['ann']);
    await stack.bridge.adapter.engine.forget(benId);
    expect(() => stack.bridge.adapter.engine.followers(benId)).toThrow(/no identity here/);
  });
});
