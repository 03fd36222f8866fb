/**
 * /backup and /restore on the Telegram bot: the real grammY bot against the Bot API emulator, a
 * real Redis and a real Operator. A backup is a document sealed under the user's own passphrase in
 * the `komrade backup` format; it restores on a second bot (another master key) and in the CLI.
 * The passphrase message is deleted and reaches no log line and no Redis key.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteLocalStore, openBackup } from '../../client/index.js';
import { toBase64url } from '../../common/wire/index.js';
import { assertCliBuilt, runKomrade } from '../support/komrade-cli.js';
import { dumpRedis, testPrefix } from '../support/redis-server.js';
import { startBridge, telegramUser, type RunningBridge } from '../support/telegram-bridge.js';
import { TelegramEmulator, type EmulatedMessage } from '../support/telegram-emulator.js';
import { useTelegramStack } from '../support/use-telegram-stack.js';

const PASSPHRASE = `correct horse ${Date.now().toString(36)} battery`;
const WRONG = 'not the passphrase at all';

const alice = telegramUser('Alice');
const bob = telegramUser('Bob');
const stack = useTelegramStack({ alice, bob });
const { emulator } = stack;

/** The second bot: another emulator (another bot token), data folder and master key. */
const emulator2 = new TelegramEmulator('654321:SECOND-token');
let bot2: RunningBridge | undefined;
const aliceAgain = telegramUser('Alice on bot 2');
const dir = mkdtempSync(join(tmpdir(), 'komrade-telegram-backup-'));
let backup: Uint8Array = new Uint8Array();

afterAll(async () => {
  await bot2?.cleanup();
  await emulator2.close();
  rmSync(dir, { recursive: true, force: true });
});

const letterTo = (text: string) => (m: EmulatedMessage) =>
  m.text.includes('from @bob') && m.text.includes(text);

/** `user` sends `text` and gets the next bot answer after it that matches `expected`. */
async function ask(
  on: TelegramEmulator,
  user: typeof alice,
  send: () => EmulatedMessage,
  expected: RegExp,
): Promise<EmulatedMessage> {
  const before = on.botMessages(user.id).length;
  send();
  return on.waitFor(
    () =>
      on
        .botMessages(user.id)
        .slice(before)
        .find((m) => expected.test(m.text)),
    20_000,
    `an answer matching ${String(expected)}`,
  );
}

describe('Telegram /backup and /restore', () => {
  it('sends an encrypted backup file and deletes the passphrase message', async () => {
    await emulator.ask(bob, '/send @alice hello alice, from before the backup', /on its way/);
    await emulator.waitForBotMessage(alice.id, letterTo('from before the backup'));
    emulator.userSends(alice, '/requests');
    const request = await emulator.waitForBotMessage(alice.id, (m) =>
      m.text.includes('wrote to you for the first time'),
    );
    emulator.userClicks(alice, request.message_id, 'acc:bob');
    await emulator.waitForBotMessage(alice.id, /Accepted @bob/);
    await emulator.ask(alice, '/follow @bob', /bob/);

    // Too short: refused, nothing sent.
    await emulator.ask(alice, '/backup', /passphrase for the backup/);
    await ask(emulator, alice, () => emulator.userSends(alice, 'short'), /at least 8/);

    await emulator.ask(alice, '/backup', /Telegram has seen it/);
    const secret = emulator.userSends(alice, PASSPHRASE);
    const sent = await emulator.waitForBotMessage(
      alice.id,
      (m) => m.document !== undefined,
      30_000,
    );
    expect(secret.deleted).toBe(true);
    expect(emulator.deletions).toContain(`${alice.id}:${secret.message_id}`);
    expect(sent.document?.file_name).toBe('komrade-alice.backup');
    expect(sent.text).toMatch(/encrypted under your passphrase/);
    backup = sent.document?.bytes ?? new Uint8Array();

    // The CLI's format: opens under the passphrase only, and holds alice's keys and letters.
    await expect(openBackup(backup, WRONG)).rejects.toMatchObject({ code: 'BACKUP_INVALID' });
    const contents = await openBackup(backup, PASSPHRASE);
    const engine = stack.bridge.adapter.engine;
    const id = engine.identityOf(`telegram:${alice.id}`)?.id ?? '';
    expect(toBase64url(contents.keys.signPublic)).toBe(engine.client(id).whoami().signKey);
    const image = join(dir, 'image.db');
    writeFileSync(image, contents.store);
    const copy = new SqliteLocalStore(image, { storageKey: contents.storageKey });
    try {
      expect(copy.ownReceipt()?.name).toBe('alice');
      expect(copy.operatorUrl()).toBe(stack.operator.url);
      expect(copy.following()).toEqual(['bob']);
      expect(copy.letters('inbox').map((l) => l.letter.body)).toContain(
        'hello alice, from before the backup',
      );
    } finally {
      copy.close();
    }

    // The passphrase is in no log line and nowhere in Redis; the file does not contain it either.
    expect(stack.bridge.logs.join('\n')).not.toContain(PASSPHRASE);
    expect(await dumpRedis(stack.redis)).not.toContain(PASSPHRASE);
    expect(Buffer.from(backup).includes(Buffer.from(PASSPHRASE))).toBe(false);
  });

  it('refuses /restore for a user who already has an identity, before asking anything', async () => {
    await ask(
      emulator,
      alice,
      () =>
        emulator.userSendsDocument(alice, backup, 'komrade-alice.backup', { caption: '/restore' }),
      /already have an identity here; nothing was changed/,
    );
    await emulator.ask(alice, '/restore', /Send your backup file with the caption \/restore/);
  });

  it('restores on a second bot: wrong passphrase changes nothing, the right one brings alice back', async () => {
    await emulator2.start();
    bot2 = await startBridge({
      emulator: emulator2,
      redis: stack.redis,
      operatorUrl: stack.operator.url,
      prefix: testPrefix(),
    });
    // Alice loses the first bot; the letter written now waits at the Operator.
    emulator.userSends(alice, '/forget');
    const confirm = await emulator.waitForBotMessage(alice.id, (m) =>
      JSON.stringify(m.reply_markup ?? {}).includes('forget:yes'),
    );
    emulator.userClicks(alice, confirm.message_id, 'forget:yes');
    await emulator.waitForBotMessage(
      alice.id,
      (m) => m.edits > 0 && m.message_id === confirm.message_id,
    );
    await emulator.ask(bob, '/send @alice written after the backup', /on its way/);

    const file = emulator2.userSendsDocument(aliceAgain, backup, 'komrade-alice.backup');
    await ask(
      emulator2,
      aliceAgain,
      () => emulator2.userSends(aliceAgain, '/restore', { replyTo: file.message_id }),
      /passphrase of this backup/,
    );
    const wrong = emulator2.userSends(aliceAgain, WRONG);
    await emulator2.waitForBotMessage(aliceAgain.id, /cannot be decrypted/, 30_000);
    expect(wrong.deleted).toBe(true);
    expect(bot2.adapter.engine.identityOf(`telegram:${aliceAgain.id}`)).toBeUndefined();

    await ask(
      emulator2,
      aliceAgain,
      () =>
        emulator2.userSendsDocument(aliceAgain, backup, 'komrade-alice.backup', {
          caption: '/restore',
        }),
      /passphrase of this backup/,
    );
    const secret = emulator2.userSends(aliceAgain, PASSPHRASE);
    await emulator2.waitForBotMessage(aliceAgain.id, /Restored @alice/, 30_000);
    expect(secret.deleted).toBe(true);
    // The letter written after the backup arrives by itself; the earlier one is in /inbox.
    await emulator2.waitForBotMessage(aliceAgain.id, letterTo('written after the backup'), 30_000);
    await emulator2.ask(aliceAgain, '/inbox', /from before the backup/);
    await emulator2.ask(aliceAgain, '/following', /bob/);
    await emulator2.ask(aliceAgain, '/whoami', /You are @alice/);
    await emulator2.ask(aliceAgain, '/send @bob back again, from the second bot', /on its way/);
    await emulator.waitForBotMessage(
      bob.id,
      (m) => m.text.includes('from @alice') && m.text.includes('back again'),
      30_000,
    );

    expect(bot2.logs.join('\n')).not.toContain(PASSPHRASE);
    expect(bot2.logs.join('\n')).not.toContain(WRONG);
    const redis = await dumpRedis(stack.redis);
    expect(redis).not.toContain(PASSPHRASE);
    expect(redis).not.toContain(WRONG);
  });

  it('restores the same file with `komrade restore`, and the CLI reads and sends as alice', async () => {
    assertCliBuilt();
    // One holder at a time: the second bot lets go of alice first.
    await bot2?.stop();
    const file = join(dir, 'alice.backup');
    writeFileSync(file, backup);
    const home = join(dir, 'cli-home');
    const env = { KOMRADE_BACKUP_PASSPHRASE: PASSPHRASE };
    const restored = await runKomrade(['restore', file, '--json'], { home, env });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout + restored.stderr).not.toContain(PASSPHRASE);
    // Bob writes in the session the second bot began after the backup: the restored CLI holds no
    // state for it (forward secrecy), says so and resets the session; bob is told, and his next
    // letter, in the new session, opens.
    const resets = () =>
      emulator.botMessages(bob.id).filter((m) => m.text.includes("@alice's session was reset"))
        .length;
    const resetsBefore = resets();
    await emulator.ask(bob, '/send @alice a letter for the computer', /on its way/);
    interface CliInbox {
      checked: { sessionResets: { name: string; lost: boolean }[] };
      letters: { text: string }[];
    }
    const cliInbox = async (): Promise<CliInbox> => {
      const run = await runKomrade(['inbox', '--json'], { home });
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as CliInbox;
    };
    let lost = await cliInbox();
    for (let i = 0; i < 20 && lost.checked.sessionResets.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      lost = await cliInbox();
    }
    expect(lost.checked.sessionResets).toEqual([{ name: 'bob', lost: true }]);
    expect(lost.letters.map((l) => l.text)).toEqual(['hello alice, from before the backup']);
    await emulator.waitFor(
      () => (resets() > resetsBefore ? true : undefined),
      30_000,
      "bob told of alice's reset session",
    );
    await emulator.ask(bob, '/send @alice a letter for the computer, again', /on its way/);
    let texts: string[] = [];
    for (let i = 0; i < 20 && !texts.includes('a letter for the computer, again'); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 500));
      texts = (await cliInbox()).letters.map((l) => l.text);
    }
    expect(texts).toEqual([
      'hello alice, from before the backup',
      'a letter for the computer, again',
    ]);
    const sent = await runKomrade(['send', '@bob', 'and now from the command line'], { home });
    expect(sent.code, sent.stderr).toBe(0);
    await emulator.waitForBotMessage(
      bob.id,
      (m) => m.text.includes('from @alice') && m.text.includes('from the command line'),
      30_000,
    );

    // And back: the CLI's backup of her restores on the bot, replacing an identity only when asked.
    const again = join(dir, 'alice-from-cli.backup');
    const made = await runKomrade(['backup', again], { home, env });
    expect(made.code, made.stderr).toBe(0);
    const dave = telegramUser('Dave');
    await emulator.ask(dave, '/register dave', /Registered as @dave/);
    const fromCli = new Uint8Array(readFileSync(again));
    await ask(
      emulator,
      dave,
      () => emulator.userSendsDocument(dave, fromCli, 'a.backup', { caption: '/restore' }),
      /nothing was changed/,
    );
    await ask(
      emulator,
      dave,
      () => emulator.userSendsDocument(dave, fromCli, 'a.backup', { caption: '/restore replace' }),
      /passphrase of this backup/,
    );
    emulator.userSends(dave, PASSPHRASE);
    await emulator.waitForBotMessage(dave.id, /Restored @alice/, 30_000);
    expect(stack.bridge.adapter.engine.identityOf(`telegram:${dave.id}`)?.name).toBe('alice');
    expect(
      stack.bridge.adapter.engine
        .client(stack.bridge.adapter.engine.identityOf(`telegram:${dave.id}`)?.id ?? '')
        .inbox()
        .map((l) => l.text),
    ).toContain('a letter for the computer, again');
  });

  it('refuses a damaged file, and an identity whose keys its owner holds', async () => {
    const erin = telegramUser('Erin');
    const damaged = Uint8Array.from(backup);
    damaged[damaged.length - 5]! ^= 0x01;
    await ask(
      emulator,
      erin,
      () => emulator.userSendsDocument(erin, damaged, 'a.backup', { caption: '/restore' }),
      /passphrase of this backup/,
    );
    emulator.userSends(erin, PASSPHRASE);
    await emulator.waitForBotMessage(erin.id, /damaged, truncated or altered/, 30_000);
    await ask(
      emulator,
      erin,
      () =>
        emulator.userSendsDocument(erin, new TextEncoder().encode('hello'), 'a.backup', {
          caption: '/restore',
        }),
      /passphrase of this backup/,
    );
    emulator.userSends(erin, PASSPHRASE);
    await emulator.waitForBotMessage(erin.id, /not a usable komrade backup/, 30_000);

    // Carol registered on her own computer: a bot holding her keys would make her receipt lie.
    const home = join(dir, 'carol');
    const env = { KOMRADE_BACKUP_PASSPHRASE: PASSPHRASE };
    for (const args of [
      ['init', '--operator', stack.operator.url],
      ['register', 'carol'],
    ]) {
      const run = await runKomrade(args, { home });
      expect(run.code, run.stderr).toBe(0);
    }
    const file = join(dir, 'carol.backup');
    expect((await runKomrade(['backup', file], { home, env })).code).toBe(0);
    await ask(
      emulator,
      erin,
      () =>
        emulator.userSendsDocument(erin, new Uint8Array(readFileSync(file)), 'c.backup', {
          caption: '/restore',
        }),
      /passphrase of this backup/,
    );
    emulator.userSends(erin, PASSPHRASE);
    await emulator.waitForBotMessage(erin.id, /held by its owner/, 30_000);
    expect(stack.bridge.adapter.engine.identityOf(`telegram:${erin.id}`)).toBeUndefined();
  });
});
