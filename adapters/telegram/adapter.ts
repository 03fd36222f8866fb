/**
 * Builds and runs the Telegram adapter from already-made parts: the grammY bot (paced by the
 * throttler, 429s retried after `retry_after`), the Telegram chat surface and the bridge engine.
 * main.ts supplies production parts; tests supply a local Bot API emulator and Operator.
 */
import { autoRetry } from '@grammyjs/auto-retry';
import { apiThrottler } from '@grammyjs/transformer-throttler';
import { Bot } from 'grammy';
import {
  createBridgeEngine,
  openBridgeVault,
  type BridgeEngine,
  type BridgeHostDeps,
} from '../../bridge/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { installHandlers, type BotContext } from './bot.js';
import { TelegramSurface } from './telegram-surface.js';
import { commandMenu } from './surface.js';

/** What {@link startTelegramAdapter} is built from. */
export interface TelegramAdapterDeps extends BridgeHostDeps {
  readonly token: string;
  /** The Bot API root. @defaultValue https://api.telegram.org */
  readonly apiRoot?: string;
  /** Pace to Telegram's limits (429s are retried after `retry_after` either way). @defaultValue true */
  readonly throttle?: boolean;
}

/** A running adapter. */
export interface TelegramAdapter {
  readonly engine: BridgeEngine;
  readonly bot: Bot<BotContext>;
  /** Stops polling Telegram, lets running jobs finish, closes the stores. */
  stop(): Promise<void>;
}

/**
 * Starts the adapter and resolves once it polls Telegram.
 * @throws `CONFIG_INVALID` for a bad master key
 */
export async function startTelegramAdapter(deps: TelegramAdapterDeps): Promise<TelegramAdapter> {
  const vault = openBridgeVault(deps);
  const bot = new Bot<BotContext>(deps.token, {
    client: { apiRoot: deps.apiRoot ?? 'https://api.telegram.org' },
  });
  // 429 and 5xx answers are retried after Telegram's `retry_after`, whatever the pacing.
  bot.api.config.use(autoRetry({ maxRetryAttempts: 10, maxDelaySeconds: 120 }));
  if (deps.throttle ?? true) {
    bot.api.config.use(
      apiThrottler({
        // Evenly spaced rather than bursts of 30: 34 ms apart is 29.4/s, the fastest pace that never
        // puts 30 messages in one rolling second.
        global: { minTime: 34, maxConcurrent: 30 },
        out: { maxConcurrent: 1, minTime: 1_050 },
        group: {
          maxConcurrent: 1,
          minTime: 3_100,
          reservoir: 20,
          reservoirRefreshAmount: 20,
          reservoirRefreshInterval: 61_000,
        },
      }),
    );
  }
  const engine = createBridgeEngine(deps, vault, new TelegramSurface(bot.api), 'telegram');
  const apiRoot = deps.apiRoot ?? 'https://api.telegram.org';
  installHandlers(bot, engine, deps.logger, async (filePath) => {
    // The URL holds the bot token: it goes in no error or log line.
    const response = await fetch(`${apiRoot}/file/bot${deps.token}/${filePath}`);
    if (!response.ok) {
      throw new KomradeError(
        'BACKUP_INVALID',
        'Telegram did not hand over the file; send it again.',
      );
    }
    return new Uint8Array(await response.arrayBuffer());
  });
  await bot.init();
  await bot.api.setMyCommands(commandMenu());
  await engine.start();
  const polling = new Promise<void>((resolveStart, reject) => {
    bot
      .start({
        drop_pending_updates: false,
        allowed_updates: ['message', 'callback_query'],
        onStart: () => {
          resolveStart();
        },
      })
      .catch((error: unknown) => {
        deps.logger.error('telegram.polling_stopped', {
          code: error instanceof Error ? error.name : 'INTERNAL',
        });
        reject(error instanceof Error ? error : new Error('polling stopped'));
      });
  });
  await polling;
  deps.logger.info('telegram.started', { queues: deps.queuePrefix });
  return {
    engine,
    bot,
    stop: async () => {
      await bot.stop();
      await engine.close();
      vault.store.close();
    },
  };
}
