/**
 * Telegram's buttons: Accept and Block under a first letter, the feed's "Older ›" page, and the
 * confirmation of /forget. Views that carry buttons are shown here too.
 */
import { Composer, InlineKeyboard } from 'grammy';
import { runCommand, type View } from '../../bridge/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { callerOf, userKey, type BotContext } from './bot-context.js';
import {
  TELEGRAM_TEXT_LIMIT,
  kitCommand,
  splitForTelegram,
  viewMessages,
  viewText,
} from './surface.js';
import { texts } from './texts.js';

/** Feed cursors are longer than a button's 64 bytes: buttons carry a short token instead. */
export class FeedCursors {
  readonly #cursors = new Map<string, string>();

  /** @returns the token a button carries for `cursor` */
  keep(cursor: string): string {
    const token = Buffer.from(randomBytes(6)).toString('base64url');
    if (this.#cursors.size > 10_000) this.#cursors.clear();
    this.#cursors.set(token, cursor);
    return token;
  }

  get(token: string): string | undefined {
    return this.#cursors.get(token);
  }
}

/** Accept and Block for a first contact from `from` (the `acc:`/`blk:` callbacks). */
export const firstContactButtons = (from: string): InlineKeyboard =>
  new InlineKeyboard().text('Accept', `acc:${from}`).text('Block', `blk:${from}`);

/** Answers with `view`: its words, split to Telegram's size, with buttons where it has some. */
export async function replyView(ctx: BotContext, view: View, cursors: FeedCursors): Promise<void> {
  if (view.kind === 'requests' && view.requests.length > 0) {
    // One message per sender, with its buttons (room kept for them).
    for (const request of view.requests) {
      const [head] = splitForTelegram(
        viewText({ kind: 'requests', requests: [request] }),
        TELEGRAM_TEXT_LIMIT - 100,
      );
      await ctx.reply(head ?? '', { reply_markup: firstContactButtons(request.from) });
    }
    return;
  }
  if (view.kind === 'feed' && view.posts.length > 0) {
    const [page] = viewMessages(view);
    const older =
      view.next === null
        ? {}
        : { reply_markup: new InlineKeyboard().text('Older ›', `feed:${cursors.keep(view.next)}`) };
    await ctx.reply(page ?? '', older);
    return;
  }
  for (const chunk of viewMessages(view)) await ctx.reply(chunk);
}

/** The buttons' handlers, and /forget (which asks with buttons first). */
export function buttonsComposer(cursors: FeedCursors): Composer<BotContext> {
  const buttons = new Composer<BotContext>();

  buttons.callbackQuery(/^(acc|blk):([a-z0-9_]{3,32})$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    if (ctx.komrade.engine.identityOf(userKey(ctx)) === undefined) return;
    const [, action, name = ''] = ctx.match;
    const spec = kitCommand(action === 'acc' ? 'accept' : 'block');
    const view = await runCommand(spec, callerOf(ctx), { name });
    // The letter stays as it was (only its buttons go); the answer is a reply under it.
    await ctx.editMessageReplyMarkup().catch(() => undefined);
    const shown = ctx.callbackQuery.message?.message_id;
    for (const chunk of viewMessages(view)) {
      await ctx.reply(
        chunk,
        shown === undefined
          ? {}
          : { reply_parameters: { message_id: shown, allow_sending_without_reply: true } },
      );
    }
  });

  buttons.callbackQuery(/^feed:([A-Za-z0-9_-]{8})$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const before = cursors.get(ctx.match[1] ?? '');
    if (before === undefined) {
      await ctx.reply(texts.feedExpired);
      return;
    }
    await replyView(ctx, await runCommand(kitCommand('feed'), callerOf(ctx), { before }), cursors);
  });

  buttons.command('forget', async (ctx) => {
    if (ctx.komrade.engine.identityOf(userKey(ctx)) === undefined) {
      await replyView(ctx, { kind: 'no-identity' }, cursors);
      return;
    }
    await ctx.reply(texts.forgetConfirm, {
      reply_markup: new InlineKeyboard()
        .text('Destroy my identity', 'forget:yes')
        .text('Cancel', 'forget:no'),
    });
  });

  buttons.callbackQuery(/^forget:(yes|no)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const found = ctx.komrade.engine.identityOf(userKey(ctx));
    if (ctx.match[1] !== 'yes' || found === undefined) {
      await ctx.editMessageText(texts.forgetCancelled).catch(() => undefined);
      return;
    }
    await ctx.komrade.engine.forget(found.id);
    await ctx.editMessageText(texts.forgotten).catch(() => ctx.reply(texts.forgotten));
  });

  return buttons;
}
