/**
 * A test file's komrades on every client: the Telegram and Discord bridges (dana in the Discord
 * guild's #lobby), Telegram users and komrades on the command line, all registered on one real
 * Operator before the tests, and everything stopped after them.
 */
import { afterAll, beforeAll } from 'vitest';
import { registerOnDiscord, type RunningDiscordBridge } from './discord-bridge.js';
import type { DiscordEmulator, EmulatedChannel, EmulatedUser } from './discord-emulator.js';
import { cliKomrades, type CliKomrades } from './komrade-cli.js';
import { register as registerOnTelegram, type TelegramStack } from './telegram-bridge.js';
import type { EmulatedUser as TelegramUser } from './telegram-emulator.js';
import { startTelegramAndDiscord, type TelegramAndDiscord } from './telegram-and-discord.js';

/** Options for {@link useChatsAndCli}. */
export interface ChatsAndCliOptions {
  /** The Discord guild's name. */
  readonly guild: string;
  /** Komrade name to Telegram user, e.g. `{ tina }`. */
  readonly telegram: Readonly<Record<string, TelegramUser>>;
  /** Names of the komrades on the command line. */
  readonly cli: readonly string[];
  /** Folder-name prefix of the CLI komrades' homes. */
  readonly cliPrefix: string;
  /**
   * Run the CLI as child processes (see `cliKomrades`): they then register beside the bots'
   * users. In this process the CLI's key derivation would hold up the bots, so they register after.
   * @defaultValue false
   */
  readonly cliAsProcesses?: boolean;
}

/** What {@link useChatsAndCli} started; read its parts inside tests and hooks only. */
export interface ChatsAndCli {
  readonly stack: TelegramStack;
  readonly discord: DiscordEmulator;
  readonly bridge: RunningDiscordBridge;
  readonly lobby: EmulatedChannel;
  /** The Discord member registered as `dana`. */
  readonly dana: EmulatedUser;
  /** Runs `komrade` as a CLI komrade and expects success; resolves to its stdout. */
  readonly cli: CliKomrades['run'];
}

/**
 * Starts both bridges in `beforeAll` and registers dana on Discord, each Telegram user and each
 * CLI komrade; stops them and removes the CLI homes in `afterAll`.
 */
export function useChatsAndCli(options: ChatsAndCliOptions): ChatsAndCli {
  const komrades = cliKomrades(options.cliPrefix, {
    asProcesses: options.cliAsProcesses === true,
  });
  let both: TelegramAndDiscord | undefined;
  const get = (): TelegramAndDiscord => {
    if (both === undefined) throw new Error('The bridges are started in beforeAll.');
    return both;
  };
  beforeAll(async () => {
    both = await startTelegramAndDiscord(options.guild);
    const { stack, discord, lobby, dana } = both;
    const chats = Promise.all([
      registerOnDiscord(discord, lobby.id, dana, 'dana'),
      ...Object.entries(options.telegram).map(([name, user]) =>
        registerOnTelegram(stack.emulator, user, name),
      ),
    ]);
    if (options.cliAsProcesses === true) {
      await Promise.all([chats, komrades.register(options.cli, stack.operator.url)]);
    } else {
      await chats;
      await komrades.register(options.cli, stack.operator.url);
    }
  }, 120_000);
  afterAll(async () => {
    await both?.stop();
    komrades.remove();
  });
  return {
    get stack() {
      return get().stack;
    },
    get discord() {
      return get().discord;
    },
    get bridge() {
      return get().bridge;
    },
    get lobby() {
      return get().lobby;
    },
    get dana() {
      return get().dana;
    },
    cli: komrades.run,
  };
}
