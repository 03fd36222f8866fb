/**
 * Both chat bridges at once: the Telegram stack (its emulator, a real Redis, a real Operator) and
 * a Discord bridge against its emulator on the same Redis and Operator, with one guild whose
 * #lobby has a member, dana.
 */
import { startDiscordBridge, type RunningDiscordBridge } from './discord-bridge.js';
import {
  startDiscordEmulator,
  type DiscordEmulator,
  type EmulatedChannel,
  type EmulatedUser,
} from './discord-emulator.js';
import { testPrefix } from './redis-server.js';
import { startTelegramStack, type TelegramStack } from './telegram-bridge.js';

export interface TelegramAndDiscord {
  readonly stack: TelegramStack;
  readonly discord: DiscordEmulator;
  readonly bridge: RunningDiscordBridge;
  readonly lobby: EmulatedChannel;
  readonly dana: EmulatedUser;
  /** Stops the Discord bridge, its emulator and the Telegram stack. */
  readonly stop: () => Promise<void>;
}

/** Starts both, the Discord guild named `guildName`. */
export async function startTelegramAndDiscord(guildName: string): Promise<TelegramAndDiscord> {
  const stack = await startTelegramStack();
  const discord = await startDiscordEmulator({ heartbeatIntervalMs: 1000 });
  const guild = discord.createGuild({ name: guildName });
  const lobby = discord.createChannel(guild.id, 'lobby');
  const dana = discord.addMember(guild.id, { username: 'dana' });
  const bridge = await startDiscordBridge({
    emulator: discord,
    redis: stack.redis,
    operatorUrl: stack.operator.url,
    prefix: testPrefix(),
  });
  return {
    stack,
    discord,
    bridge,
    lobby,
    dana,
    stop: async () => {
      await bridge.cleanup();
      await discord.close();
      await stack.stop();
    },
  };
}
