/**
 * /backup and /restore on the Discord bot: the real discord.js client against the Discord
 * emulator, a real Redis and a real Operator. The backup is an ephemeral file answer sealed under
 * the user's passphrase in the `komrade backup` format; it restores on a second bot with another
 * master key. The passphrase reaches no log line and no Redis key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLocalStore, openBackup } from '../../client/index.js';
import {
  registerOnDiscord,
  slash,
  startDiscordBridge,
  type RunningDiscordBridge,
} from '../support/discord-bridge.js';
import {
  startDiscordEmulator,
  type DiscordEmulator,
  type EmulatedChannel,
  type EmulatedUser,
  type SlashValue,
} from '../support/discord-emulator.js';
import { assertCliBuilt, runKomrade } from '../support/komrade-cli.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import {
  dumpRedis,
  startRedisServer,
  testPrefix,
  type RedisServer,
} from '../support/redis-server.js';

const PASSPHRASE = `discord backup ${Date.now().toString(36)} passphrase`;
const WRONG = 'not the passphrase at all';

let operator: OperatorProcess;
let redis: RedisServer;
let discord: DiscordEmulator;
let discord2: DiscordEmulator;
let bot: RunningDiscordBridge;
let bot2: RunningDiscordBridge | undefined;
let lobby: EmulatedChannel;
let lobby2: EmulatedChannel;
let ana: EmulatedUser;
let ben: EmulatedUser;
let newcomer: EmulatedUser;
let anaAgain: EmulatedUser;
let backup: Uint8Array = new Uint8Array();
const dir = mkdtempSync(join(tmpdir(), 'komrade-discord-backup-'));

const ask = async (
  on: DiscordEmulator,
  channel: EmulatedChannel,
  user: EmulatedUser,
  command: string,
  options: Record<string, SlashValue> = {},
) => slash(on, channel.id, user, command, options);

beforeAll(async () => {
  [operator, redis, discord, discord2] = await Promise.all([
    startOperatorProcess({ powBits: 8 }),
    startRedisServer(),
    startDiscordEmulator({ heartbeatIntervalMs: 1000 }),
    startDiscordEmulator({ heartbeatIntervalMs: 1000 }),
  ]);
  const guild = discord.createGuild({ name: 'Organizers' });
  lobby = discord.createChannel(guild.id, 'lobby');
  ana = discord.addMember(guild.id, { username: 'ana' });
  ben = discord.addMember(guild.id, { username: 'ben' });
  newcomer = discord.addMember(guild.id, { username: 'newcomer' });
  const guild2 = discord2.createGuild({ name: 'Elsewhere' });
  lobby2 = discord2.createChannel(guild2.id, 'lobby');
  anaAgain = discord2.addMember(guild2.id, { username: 'ana-again' });
  bot = await startDiscordBridge({
    emulator: discord,
    redis,
    operatorUrl: operator.url,
    prefix: testPrefix(),
  });
  await Promise.all([
    registerOnDiscord(discord, lobby.id, ana, 'ana'),
    registerOnDiscord(discord, lobby.id, ben, 'ben'),
  ]);
}, 120_000);

afterAll(async () => {
  await bot2?.cleanup();
  await bot.cleanup();
  await Promise.all([discord.close(), discord2.close()]);
  await Promise.all([operator.cleanup(), redis.cleanup()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('Discord /backup and /restore', () => {
  it('answers /backup privately with a file sealed under the passphrase', async () => {
    const created = await ask(discord, lobby, ana, 'create', { collective: 'bakers' });
    expect(created.content).toMatch(/Created @bakers/);
    const short = await ask(discord, lobby, ana, 'backup', { passphrase: 'short' });
    expect(short.content).toMatch(/at least 8/);
    expect(short.files ?? []).toEqual([]);

    const reply = await ask(discord, lobby, ana, 'backup', { passphrase: PASSPHRASE });
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toMatch(/encrypted under your passphrase/);
    const [file] = reply.files ?? [];
    expect(file?.filename).toBe('komrade-ana.backup');
    backup = new Uint8Array(file?.data ?? []);
    await expect(openBackup(backup, WRONG)).rejects.toMatchObject({ code: 'BACKUP_INVALID' });
    const contents = await openBackup(backup, PASSPHRASE);
    const image = join(dir, 'image.db');
    writeFileSync(image, contents.store);
    const copy = new SqliteLocalStore(image, { storageKey: contents.storageKey });
    try {
      expect(copy.ownReceipt()).toMatchObject({ name: 'ana', keyHolder: 'discord' });
      expect(copy.operatorUrl()).toBe(operator.url);
      expect(copy.collectives()).toContain('bakers');
    } finally {
      copy.close();
    }
    expect(bot.logs.join('\n')).not.toContain(PASSPHRASE);
    expect(await dumpRedis(redis)).not.toContain(PASSPHRASE);
  });

  it('refuses to restore over an identity, a name held here, or with a wrong passphrase', async () => {
    const upload = { filename: 'komrade-ana.backup', bytes: backup };
    const over = await ask(discord, lobby, ben, 'restore', {
      file: upload,
      passphrase: PASSPHRASE,
    });
    expect(over.content).toMatch(/already have an identity here; nothing was changed/);
    expect(bot.adapter.engine.identityOf(`discord:${ben.id}`)?.name).toBe('ben');

    const wrong = await ask(discord, lobby, newcomer, 'restore', {
      file: upload,
      passphrase: WRONG,
    });
    expect(wrong.content).toMatch(/cannot be decrypted/);
    const twice = await ask(discord, lobby, newcomer, 'restore', {
      file: upload,
      passphrase: PASSPHRASE,
    });
    expect(twice.content).toMatch(/already held by this bot for another chat user/);
    const junk = await ask(discord, lobby, newcomer, 'restore', {
      file: { filename: 'x.backup', bytes: new TextEncoder().encode('not a backup') },
      passphrase: PASSPHRASE,
    });
    expect(junk.content).toMatch(/not a usable komrade backup/);
    expect(bot.adapter.engine.identityOf(`discord:${newcomer.id}`)).toBeUndefined();
    expect(bot.logs.join('\n')).not.toContain(WRONG);
  });

  it('restores on a second bot: the same name, keys and collectives', async () => {
    bot2 = await startDiscordBridge({
      emulator: discord2,
      redis,
      operatorUrl: operator.url,
      prefix: testPrefix(),
    });
    const restored = await ask(discord2, lobby2, anaAgain, 'restore', {
      file: { filename: 'komrade-ana.backup', bytes: backup },
      passphrase: PASSPHRASE,
    });
    expect(restored.content).toMatch(/Restored @ana/);
    const held = bot2.adapter.engine.identityOf(`discord:${anaAgain.id}`);
    expect(held?.name).toBe('ana');
    expect(bot2.adapter.engine.client(held?.id ?? '').whoami().signKey).toBe(
      bot.adapter.engine
        .client(bot.adapter.engine.identityOf(`discord:${ana.id}`)?.id ?? '')
        .whoami().signKey,
    );
    const mine = await ask(discord2, lobby2, anaAgain, 'collectives');
    expect(mine.content).toMatch(/bakers/);
    const members = await ask(discord2, lobby2, anaAgain, 'members', { collective: 'bakers' });
    expect(members.content).toMatch(/ana/);
    expect(bot2.logs.join('\n')).not.toContain(PASSPHRASE);
    expect(await dumpRedis(redis)).not.toContain(PASSPHRASE);
  });

  it('restores the same file with `komrade restore`', async () => {
    assertCliBuilt();
    const file = join(dir, 'ana.backup');
    writeFileSync(file, backup);
    const home = join(dir, 'cli-home');
    const env = { KOMRADE_BACKUP_PASSPHRASE: PASSPHRASE };
    const restored = await runKomrade(['restore', file, '--json'], { home, env });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout + restored.stderr).not.toContain(PASSPHRASE);
    const whoami = await runKomrade(['whoami'], { home });
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(whoami.stdout).toContain('ana');
    const members = await runKomrade(['collective', 'members', '@bakers'], { home });
    expect(members.code, members.stderr).toBe(0);
    expect(members.stdout).toContain('ana');
  });
});
