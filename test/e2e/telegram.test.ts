/**
 * Komrade from Telegram: the real grammY bot, against the local Bot API emulator, with a real
 * Redis and a real Operator process. Users register, exchange letters both ways, accept and block
 * first contacts, post and read the feed, follow, forget; nothing readable reaches Redis or the logs.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { HttpOperatorClient, KomradeClient, SqliteLocalStore } from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { dumpRedis } from '../support/redis-server.js';
import type { EmulatedMessage } from '../support/telegram-emulator.js';
import { register, telegramUser } from '../support/telegram-bridge.js';
import { useTelegramStack } from '../support/use-telegram-stack.js';

const MARKER = `plaintext-marker-${Date.now().toString(36)}`;

const alice = telegramUser('Alice');
const bob = telegramUser('Bob');
const carol = telegramUser('Carol');

const stack = useTelegramStack();
const { emulator } = stack;

const letterFrom = (from: string, text: string) => (m: EmulatedMessage) =>
  m.text.includes(`from @${from}`) && m.text.includes(text);

describe('komrade-telegram', () => {
  it('registers its commands and explains itself on /start', async () => {
    expect(emulator.commands.length).toBeGreaterThan(0);
    const names = (emulator.commands[0] as { command: string }[]).map((c) => c.command);
    expect(names).toEqual(
      expect.arrayContaining(['start', 'register', 'send', 'inbox', 'requests', 'feed', 'forget']),
    );
    emulator.userSends(alice, '/start');
    const intro = await emulator.waitForBotMessage(alice.id, /Komrade is/);
    expect(intro.text).toMatch(/Telegram sees everything/);
    expect(intro.text).toMatch(/\/register NAME/);
  });

  it('answers wrong commands, missing arguments and group chats helpfully', async () => {
    emulator.userSends(alice, '/frobnicate');
    await emulator.waitForBotMessage(alice.id, /don't know \/frobnicate/);
    emulator.userSends(alice, '/register');
    await emulator.waitForBotMessage(alice.id, /Usage: \/register NAME/);
    emulator.userSends(alice, '/whoami');
    await emulator.waitForBotMessage(alice.id, /no Komrade identity here yet/);
    emulator.userSends(alice, '/send');
    await emulator.waitForBotMessage(alice.id, /Usage: \/send @name text/);
    emulator.userSends(alice, 'hello?');
    await emulator.waitForBotMessage(alice.id, /To write a letter/);
    emulator.userSends(alice, '/register alice', { chatId: -4242 });
    await emulator.waitForBotMessage(-4242, /only work in a private chat/);
  });

  it('registers two users, showing proof-of-work progress in an edited message', async () => {
    await Promise.all([register(emulator, alice, 'alice'), register(emulator, bob, 'bob')]);
    emulator.userSends(alice, '/whoami');
    const me = await emulator.waitForBotMessage(alice.id, /You are @alice\.\nSigning key: /);
    expect(me.text).toContain('Komrades see on your letters: 🤖 keys held by a Telegram bridge');
    emulator.userSends(alice, '/register other');
    await emulator.waitForBotMessage(alice.id, /already registered as @alice/);
    emulator.userSends(alice, '/send @nobody_here hi');
    await emulator.waitForBotMessage(
      alice.id,
      /No komrade or collective is registered under that name/,
    );
  });

  it('delivers a first contact with Accept/Block, then letters both ways by reply', async () => {
    emulator.userSends(alice, `/send @bob hello bob ${MARKER}`);
    await emulator.waitForBotMessage(alice.id, /on its way to @bob/);
    const first = await emulator.waitForBotMessage(bob.id, letterFrom('alice', MARKER));
    expect(first.text).toMatch(/First letter from @alice/);
    // Alice's receipt, signed by her and countersigned by the Operator, says a Telegram bridge holds her keys.
    expect(first.text).toContain('🤖 keys held by a Telegram bridge');
    expect(first.reply_markup?.inline_keyboard[0]?.map((b) => b.text)).toEqual(['Accept', 'Block']);

    emulator.userSends(bob, '/requests');
    const request = await emulator.waitForBotMessage(bob.id, /wrote to you for the first time/);
    emulator.userClicks(bob, request.message_id, 'acc:alice');
    await emulator.waitForBotMessage(bob.id, /Accepted @alice/);

    // Bob answers by replying to the letter; Alice wrote first, so it lands in her inbox directly.
    emulator.userSends(bob, `hi alice ${MARKER}`, { replyTo: first.message_id });
    await emulator.waitForBotMessage(bob.id, /on its way to @alice/);
    const answer = await emulator.waitForBotMessage(alice.id, letterFrom('bob', 'hi alice'));
    expect(answer.text).toMatch(/✉️ Letter from @bob/);
    expect(answer.text).toMatch(/Reply to this message/);

    emulator.userSends(alice, 'and back again', { replyTo: answer.message_id });
    await emulator.waitForBotMessage(bob.id, letterFrom('alice', 'and back again'));
    // Both identities' letters left through the bot's one shared pool of anonymous circuits.
    const sends = stack.bridge.anonymousRequests.filter((r) => r === 'POST /v2/mail/send');
    expect(sends.length).toBeGreaterThanOrEqual(3);

    emulator.userSends(bob, '/inbox');
    await emulator.waitForBotMessage(
      bob.id,
      (m) => m.text.includes('and back again') && !m.text.includes('Letter from'),
    );
    await stack.bridge.drained();
    // Each letter shown exactly once.
    const shown = emulator.botMessages(bob.id).filter((m) => /etter from @alice/.test(m.text));
    expect(shown).toHaveLength(2);
  });

  it('marks no letter from an identity whose keys are on its own device', async () => {
    // A CLI-style komrade: the bridge's KomradeClient with keyHolder 'self', against the same Operator.
    const dir = mkdtempSync(join(tmpdir(), 'komrade-self-'));
    const dispatcher = new Agent();
    const store = new SqliteLocalStore(join(dir, 'dan.db'), { storageKey: randomBytes(32) });
    try {
      const dan = new KomradeClient({
        operator: new HttpOperatorClient({
          baseUrl: stack.operator.url,
          dispatcher,
          now: Date.now,
        }),
        store,
        keys: generateIdentityKeys(),
        now: Date.now,
        keyHolder: 'self',
      });
      expect((await dan.register('dan')).keyHolder).toBe('self');
      expect((await dan.lookup('bob')).keyHolder).toBe('telegram');
      await dan.send('bob', `from my own laptop ${MARKER}`);
      const shown = await emulator.waitForBotMessage(bob.id, letterFrom('dan', 'own laptop'));
      expect(shown.text).toMatch(/First letter from @dan/);
      expect(shown.text).not.toMatch(/🤖|held by/);
    } finally {
      store.close();
      await dispatcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('blocks a first contact: later letters from them are never shown', async () => {
    await register(emulator, carol, 'carol');
    emulator.userSends(carol, '/send @bob spam one');
    const spam = await emulator.waitForBotMessage(bob.id, letterFrom('carol', 'spam one'));
    emulator.userClicks(bob, spam.message_id, 'blk:carol');
    await emulator.waitForBotMessage(bob.id, /Blocked @carol/);
    emulator.userSends(carol, '/send @bob spam two');
    await emulator.waitForBotMessage(carol.id, /on its way to @bob/);
    await stack.bridge.drained();
    const bobId = stack.bridge.adapter.engine.identityOf(`telegram:${bob.id}`)!.id;
    await stack.bridge.adapter.engine.pollNow(bobId);
    await stack.bridge.drained();
    expect(emulator.botMessages(bob.id).some((m) => m.text.includes('spam two'))).toBe(false);
  });

  it('posts with a lifetime to the world feed, paged with a button', async () => {
    emulator.userSends(alice, '/post');
    await emulator.waitForBotMessage(alice.id, /Usage: \/post \[3d\] text/);
    emulator.userSends(alice, '/post 2d The first post');
    await emulator.waitForBotMessage(alice.id, /Posted to the world feed until/);
    for (let i = 2; i <= 6; i++) {
      emulator.userSends(alice, `/post post number ${i}`);
      await emulator.waitForBotMessage(
        alice.id,
        (m) =>
          m.text.startsWith('Posted') &&
          emulator.botMessages(alice.id).filter((x) => x.text.startsWith('Posted')).length >= i,
      );
    }
    emulator.userSends(bob, '/feed');
    const page = await emulator.waitForBotMessage(bob.id, /post number 6/);
    expect(page.text).toMatch(/@alice/);
    const button = page.reply_markup?.inline_keyboard[0]?.[0];
    expect(button?.text).toBe('Older ›');
    emulator.userClicks(bob, page.message_id, button!.callback_data!);
    const older = await emulator.waitForBotMessage(bob.id, /The first post/);
    expect(older.text).not.toMatch(/post number 6/);
  });

  it('follows and unfollows', async () => {
    emulator.userSends(bob, '/follow @alice');
    await emulator.waitForBotMessage(bob.id, /You follow @alice\./);
    emulator.userSends(bob, '/following');
    await emulator.waitForBotMessage(bob.id, /You follow: @alice/);
    emulator.userSends(bob, '/follow @nobody_here');
    await emulator.waitForBotMessage(
      bob.id,
      /No komrade or collective is registered under that name/,
    );
    emulator.userSends(bob, '/unfollow @alice');
    await emulator.waitForBotMessage(bob.id, /no longer follow @alice/);
  });

  it('keeps plaintext out of Redis, the logs and the adapter’s files', async () => {
    const { bridge } = stack;
    await bridge.drained();
    const dump = await dumpRedis(stack.redis);
    expect(dump.length).toBeGreaterThan(0);
    expect(dump).not.toContain(MARKER);
    expect(dump).not.toContain(String(alice.id));
    const logs = bridge.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(MARKER);
    expect(logs).not.toContain(String(bob.id));
    const files = [
      join(bridge.dataDir, 'bridge.db'),
      ...readdirSync(join(bridge.dataDir, 'identities')).map((f) =>
        join(bridge.dataDir, 'identities', f),
      ),
    ];
    for (const file of files) {
      expect(readFileSync(file).toString('latin1')).not.toContain(MARKER);
    }
  });

  it('forgets an identity only after an explicit confirmation', async () => {
    emulator.userSends(carol, '/forget');
    const confirm = await emulator.waitForBotMessage(carol.id, /cannot be undone/);
    emulator.userClicks(carol, confirm.message_id, 'forget:no');
    await emulator.waitForBotMessage(carol.id, /Nothing was destroyed/);
    emulator.userSends(carol, '/forget');
    const again = await emulator.waitFor(
      () => emulator.botMessages(carol.id).filter((m) => /cannot be undone/.test(m.text))[0],
    );
    emulator.userClicks(carol, again.message_id, 'forget:yes');
    await emulator.waitForBotMessage(carol.id, /identity is destroyed/);
    emulator.userSends(carol, '/whoami');
    await emulator.waitForBotMessage(carol.id, /no Komrade identity here yet/);
  });
});
