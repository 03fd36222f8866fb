/**
 * The bot's handlers: grammY composers that drive the bridge engine, in the order an update meets
 * them (handled-event record, group refusal, passphrases, kit commands, buttons, replies).
 */
import type { Bot } from 'grammy';
import type { BridgeEngine, View } from '../../bridge/index.js';
import type { Logger } from '../../common/logging/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { eventOf, userKey, type BotContext } from './bot-context.js';
import { backupComposer, type DownloadFile } from './backup-composer.js';
import { FeedCursors, buttonsComposer, replyView } from './buttons.js';
import { commandComposer } from './command-composer.js';
import { TYPED_COMMANDS } from './surface.js';
import { errorMessage, texts } from './texts.js';

export type { BotContext, KomradeFlavor } from './bot-context.js';
export type { DownloadFile } from './backup-composer.js';

const KNOWN = new Set(TYPED_COMMANDS);

/**
 * Installs the handlers on `bot`.
 * @param engine - the started bridge engine
 */
export function installHandlers(
  bot: Bot<BotContext>,
  engine: BridgeEngine,
  logger: Logger,
  download: DownloadFile,
): void {
  const cursors = new FeedCursors();
  const reply = (ctx: BotContext, view: View) => replyView(ctx, view, cursors);

  bot.use(async (ctx, next) => {
    Object.assign(ctx, { komrade: { engine, logger } });
    // Handled and answered before a crash, then delivered again: nothing is left to do.
    const { event } = eventOf(ctx);
    if (engine.eventAnswered(event)) return;
    await next();
    engine.markEventAnswered(event);
  });

  // Groups: identity commands need a private chat.
  bot.on('message', async (ctx, next) => {
    if (ctx.chat.type === 'private') return next();
    if (ctx.message.text?.startsWith('/') === true) await ctx.reply(texts.groupRefusal);
    return undefined;
  });

  bot.use(backupComposer(download, reply));
  bot.use(commandComposer(reply));
  bot.use(buttonsComposer(cursors));

  // Unknown commands; replies to letters and collective messages; anything else gets a hint.
  bot.on('message:text', async (ctx) => {
    const text = ctx.message.text;
    if (text.startsWith('/')) {
      const typed = (text.slice(1).split(/[\s@]/)[0] ?? '').toLowerCase();
      await reply(
        ctx,
        KNOWN.has(typed) ? { kind: 'help', first: false } : { kind: 'unknown-command', typed },
      );
      return;
    }
    const replied = ctx.message.reply_to_message;
    if (replied === undefined) {
      await ctx.reply(texts.notACommand);
      return;
    }
    const found = engine.identityOf(userKey(ctx));
    if (found === undefined) {
      await reply(ctx, { kind: 'no-identity' });
      return;
    }
    const sent = await engine.answer(found.id, String(replied.message_id), text, eventOf(ctx));
    await reply(
      ctx,
      sent === undefined
        ? { kind: 'not-a-letter' }
        : 'collective' in sent
          ? { kind: 'said', collective: sent.collective, recipients: sent.recipients }
          : { kind: 'letter-sent', to: sent.to },
    );
  });

  bot.catch(async (err) => {
    const error = err.error;
    logger.warn('telegram.handler_failed', {
      code: isKomradeError(error) ? error.code : 'INTERNAL',
    });
    await err.ctx.reply(errorMessage(error)).catch(() => undefined);
  });
}
