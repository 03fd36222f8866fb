/**
 * Every surface over the private Tor network: an Operator published as an onion service, the
 * Telegram bot (against the Bot API emulator) and the Discord bot (against the Discord emulator)
 * reaching it through a client tor's SOCKS port, a circuit per identity, on one real Redis; the
 * `komrade` command reaches it through the same SOCKS port.
 */
import type { SocksAddress } from '../../client/index.js';
import { startDiscordBridge, type RunningDiscordBridge } from './discord-bridge.js';
import {
  startDiscordEmulator,
  type DiscordEmulator,
  type EmulatedChannel,
} from './discord-emulator.js';
import { startPublishedOperator, type PublishedOperator } from './published-operator.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';
import { startBridge, type RunningBridge } from './telegram-bridge.js';
import { TelegramEmulator } from './telegram-emulator.js';

/** What {@link startBotsOverTor} started. */
export interface BotsOverTor {
  readonly published: PublishedOperator;
  /** The Operator's onion URL, the one every client is given. */
  readonly onionUrl: string;
  /** The client tor's SOCKS port, as the bots and the CLI use it. */
  readonly socks: SocksAddress;
  readonly redis: RedisServer;
  readonly telegram: TelegramEmulator;
  readonly telegramBot: RunningBridge;
  readonly discord: DiscordEmulator;
  /** #lobby of the one Discord guild. */
  readonly lobby: EmulatedChannel;
  /** The Discord bot running now (replaced by {@link BotsOverTor.restartDiscordBot}). */
  readonly discordBot: RunningDiscordBridge;
  /** Stops the Discord bot (its data folder and master key stay). */
  stopDiscordBot(): Promise<void>;
  /** Starts the Discord bot again on the same data folder and master key. */
  restartDiscordBot(): Promise<RunningDiscordBridge>;
  /** Stops everything and removes the folders. */
  stop(): Promise<void>;
}

/** Starts the network, the Operator, Redis, both emulators and both bots. */
export async function startBotsOverTor(guildName: string): Promise<BotsOverTor> {
  const telegram = new TelegramEmulator();
  const [published, redis, discord] = await Promise.all([
    startPublishedOperator(),
    startRedisServer(),
    startDiscordEmulator({ heartbeatIntervalMs: 1000 }),
    telegram.start(),
  ]);
  const guild = discord.createGuild({ name: guildName });
  const lobby = discord.createChannel(guild.id, 'lobby');
  const socks: SocksAddress = { host: '127.0.0.1', port: published.clientTor.socksPort ?? 0 };
  const onionUrl = published.onionUrl;
  const discordPrefix = testPrefix();
  const [telegramBot, firstDiscordBot] = await Promise.all([
    startBridge({ emulator: telegram, redis, operatorUrl: onionUrl, prefix: testPrefix(), socks }),
    startDiscordBridge({
      emulator: discord,
      redis,
      operatorUrl: onionUrl,
      prefix: discordPrefix,
      socks,
    }),
  ]);
  let discordBot = firstDiscordBot;
  const { dataDir, masterKey } = firstDiscordBot;
  return {
    published,
    onionUrl,
    socks,
    redis,
    telegram,
    telegramBot,
    discord,
    lobby,
    get discordBot() {
      return discordBot;
    },
    stopDiscordBot: () => discordBot.stop(),
    restartDiscordBot: async () => {
      await discordBot.stop();
      discordBot = await startDiscordBridge({
        emulator: discord,
        redis,
        operatorUrl: onionUrl,
        prefix: discordPrefix,
        socks,
        dataDir,
        masterKey,
      });
      return discordBot;
    },
    stop: async () => {
      await Promise.all([telegramBot.cleanup(), discordBot.cleanup()]);
      await Promise.all([telegram.close(), discord.close()]);
      await Promise.all([published.operator.cleanup(), published.network.stop(), redis.cleanup()]);
    },
  };
}
