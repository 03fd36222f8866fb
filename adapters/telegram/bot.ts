/** The bot's commands and buttons: grammY handlers that drive the bridge engine. */
import type { Bot } from 'grammy';
import { InlineKeyboard, type Context } from 'grammy';
import type { BridgeEngine } from '../../bridge/index.js';
import type { Logger } from '../../common/logging/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import {
  COMMANDS,
  TELEGRAM_TEXT_LIMIT,
  errorMessage,
  inboxLine,
  postLine,
  splitForTelegram,
  texts,
} from './texts.js';

/** Bridge services every handler reaches through its context (a grammY context flavor). */
export interface KomradeFlavor {
  readonly komrade: { readonly engine: BridgeEngine; readonly logger: Logger };
}
export type BotContext = Context & KomradeFlavor;

const FEED_PAGE = 5;
const DEFAULT_POST_DAYS = 7;
const KNOWN = new Set<string>(COMMANDS.map((c) => c.command));

/** The Telegram user key the engine knows an identity by (kept only in the adapter's store). */
const userKey = (ctx: Context) => `telegram:${String(ctx.from?.id)}`;

/** Splits `/cmd a b c` arguments: the first word, and the rest verbatim. */
function firstWord(text: string): [string, string] {
  const trimmed = text.trim();
  const space = trimmed.search(/\s/);
  return space === -1 ? [trimmed, ''] : [trimmed.slice(0, space), trimmed.slice(space).trim()];
}

async function replyLong(ctx: Context, text: string): Promise<void> {
  for (const chunk of splitForTelegram(text)) await ctx.reply(chunk);
}

/**
 * Installs the handlers on `bot`.
 * @param engine - the started bridge engine
 */
export function installHandlers(bot: Bot<BotContext>, engine: BridgeEngine, logger: Logger): void {
  const registering = new Set<string>();
  // Feed cursors are longer than a button's 64 bytes: buttons carry a short token instead.
  const cursors = new Map<string, string>();

  bot.use(async (ctx, next) => {
    Object.assign(ctx, { komrade: { engine, logger } });
    await next();
  });

  // Groups: identity commands need a private chat.
  bot.on('message', async (ctx, next) => {
    if (ctx.chat.type === 'private') return next();
    if (ctx.message.text?.startsWith('/') === true) await ctx.reply(texts.groupRefusal);
    return undefined;
  });

  const identity = (ctx: BotContext) => ctx.komrade.engine.identityOf(userKey(ctx));
  const mustIdentity = async (ctx: BotContext) => {
    const found = identity(ctx);
    if (found === undefined) await ctx.reply(texts.noIdentity);
    return found;
  };

  bot.command('start', (ctx) => ctx.reply(texts.start));
  bot.command('help', (ctx) => ctx.reply(texts.help));

  bot.command('register', async (ctx) => {
    const wanted = ctx.match.trim();
    if (wanted.length === 0) return ctx.reply(texts.usage.register);
    const key = userKey(ctx);
    if (registering.has(key)) return ctx.reply(texts.busy);
    let id = engine.identityOf(key);
    if (id?.name != null) return ctx.reply(texts.alreadyRegistered(id.name));
    id ??= { id: engine.createIdentity(key, String(ctx.chat.id)), name: null };
    const identityId = id.id;
    const shown = wanted.replace(/^@/, '').toLowerCase();
    const progress = await ctx.reply(texts.registering(shown, 0));
    registering.add(key);
    let lastEdit = Date.now();
    let lastPercent = 0;
    const edit = (text: string) =>
      ctx.api.editMessageText(ctx.chat.id, progress.message_id, text).catch(() => undefined);
    // Proof of work takes a while: run it beside the update loop so other users are not kept waiting.
    void engine
      .register(identityId, wanted, {
        onProgress: ({ tried, expected }) => {
          const percent = Math.min(99, Math.floor((100 * tried) / expected));
          if (percent > lastPercent && Date.now() - lastEdit > 1_000) {
            lastEdit = Date.now();
            lastPercent = percent;
            void edit(texts.registering(shown, percent));
          }
        },
      })
      .then(
        (profile) => edit(texts.registered(profile.name)),
        (error: unknown) => edit(errorMessage(error)),
      )
      .finally(() => registering.delete(key));
    return undefined;
  });

  bot.command('whoami', async (ctx) => {
    const id = await mustIdentity(ctx);
    if (id === undefined) return;
    const me = ctx.komrade.engine.client(id.id).whoami();
    await ctx.reply(texts.whoami(me.name, me.signKey, me.boxKey, me.keyHolder));
  });

  bot.command('send', async (ctx) => {
    const [to, text] = firstWord(ctx.match);
    if (to.length === 0 || text.length === 0) return ctx.reply(texts.usage.send);
    const id = await mustIdentity(ctx);
    if (id === undefined) return undefined;
    const sent = await engine.send(id.id, to, text);
    return ctx.reply(texts.queued(sent.to));
  });

  bot.command('inbox', async (ctx) => {
    const id = await mustIdentity(ctx);
    if (id === undefined) return;
    const letters = engine.client(id.id).inbox().slice(-10);
    if (letters.length === 0) {
      await ctx.reply(texts.inboxEmpty);
      return;
    }
    await replyLong(ctx, letters.map(inboxLine).join('\n\n'));
  });

  bot.command('requests', async (ctx) => {
    const id = await mustIdentity(ctx);
    if (id === undefined) return;
    const requests = engine.client(id.id).requests();
    if (requests.length === 0) {
      await ctx.reply(texts.requestsEmpty);
      return;
    }
    for (const request of requests) {
      const body = [
        texts.requestHeader(request.from, request.letters.length),
        ...request.letters.map((l) => l.text),
      ].join('\n\n');
      const [head] = splitForTelegram(body, TELEGRAM_TEXT_LIMIT - 100);
      await ctx.reply(head ?? '', {
        reply_markup: new InlineKeyboard()
          .text('Accept', `acc:${request.from}`)
          .text('Block', `blk:${request.from}`),
      });
    }
  });

  bot.callbackQuery(/^(acc|blk):([a-z0-9_]{3,32})$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const id = identity(ctx);
    if (id === undefined) return;
    const [, action, name = ''] = ctx.match;
    const client = engine.client(id.id);
    const text =
      action === 'acc'
        ? (({ moved }) => texts.accepted(name, moved))(client.accept(name))
        : (client.block(name), texts.blocked(name));
    await ctx.editMessageText(text).catch(() => ctx.reply(text));
  });

  bot.command('post', async (ctx) => {
    let [first, rest] = firstWord(ctx.match);
    let days = DEFAULT_POST_DAYS;
    const daysMatch = /^(\d{1,3})d$/.exec(first);
    if (daysMatch !== null) days = Number(daysMatch[1]);
    else rest = ctx.match.trim();
    if (daysMatch === null) first = '';
    if (rest.length === 0) return ctx.reply(texts.usage.post);
    const id = await mustIdentity(ctx);
    if (id === undefined) return undefined;
    const posted = await engine.client(id.id).post(rest, days);
    return ctx.reply(texts.posted(posted.expiresAt));
  });

  const showFeed = async (ctx: BotContext, before: string | undefined) => {
    const id = await mustIdentity(ctx);
    if (id === undefined) return;
    const page = await engine
      .client(id.id)
      .feed({ limit: FEED_PAGE, ...(before === undefined ? {} : { before }) });
    if (page.posts.length === 0) {
      await ctx.reply(before === undefined ? texts.feedEmpty : texts.feedEnd);
      return;
    }
    let keyboard: InlineKeyboard | undefined;
    if (page.next !== null) {
      const token = Buffer.from(randomBytes(6)).toString('base64url');
      if (cursors.size > 10_000) cursors.clear();
      cursors.set(token, page.next);
      keyboard = new InlineKeyboard().text('Older ›', `feed:${token}`);
    }
    const [body] = splitForTelegram(page.posts.map(postLine).join('\n\n'));
    await ctx.reply(body ?? '', keyboard === undefined ? {} : { reply_markup: keyboard });
  };

  bot.command('feed', (ctx) => showFeed(ctx, undefined));
  bot.callbackQuery(/^feed:([A-Za-z0-9_-]{8})$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const cursor = cursors.get(ctx.match[1] ?? '');
    if (cursor === undefined) {
      await ctx.reply('That page expired; send /feed again.');
      return;
    }
    await showFeed(ctx, cursor);
  });

  bot.command('follow', async (ctx) => {
    const [name] = firstWord(ctx.match);
    if (name.length === 0) return ctx.reply(texts.usage.follow);
    const id = await mustIdentity(ctx);
    if (id === undefined) return undefined;
    const result = await engine.follow(id.id, name);
    return ctx.reply(texts.followed(result.name, result.added));
  });

  bot.command('unfollow', async (ctx) => {
    const [name] = firstWord(ctx.match);
    if (name.length === 0) return ctx.reply(texts.usage.unfollow);
    const id = await mustIdentity(ctx);
    if (id === undefined) return undefined;
    const result = await engine.unfollow(id.id, name);
    return ctx.reply(texts.unfollowed(result.name, result.removed));
  });

  bot.command('postfollowers', async (ctx) => {
    const text = ctx.match.trim();
    if (text.length === 0) return ctx.reply(texts.usage.postfollowers);
    const id = await mustIdentity(ctx);
    if (id === undefined) return undefined;
    const sent = await engine.postToFollowers(id.id, text);
    return ctx.reply(texts.postedToFollowers(sent.followers.length));
  });

  bot.command('followers', async (ctx) => {
    const id = await mustIdentity(ctx);
    if (id === undefined) return;
    const names = engine.followers(id.id);
    await ctx.reply(names.length === 0 ? texts.followersNone : texts.followers(names));
  });

  bot.command('following', async (ctx) => {
    const id = await mustIdentity(ctx);
    if (id === undefined) return;
    const names = engine.following(id.id);
    await ctx.reply(names.length === 0 ? texts.followingNone : texts.following(names));
  });

  bot.command('forget', async (ctx) => {
    const id = await mustIdentity(ctx);
    if (id === undefined) return;
    await ctx.reply(texts.forgetConfirm, {
      reply_markup: new InlineKeyboard()
        .text('Destroy my identity', 'forget:yes')
        .text('Cancel', 'forget:no'),
    });
  });

  bot.callbackQuery(/^forget:(yes|no)$/, async (ctx) => {
    await ctx.answerCallbackQuery();
    const id = identity(ctx);
    if (ctx.match[1] !== 'yes' || id === undefined) {
      await ctx.editMessageText(texts.forgetCancelled).catch(() => undefined);
      return;
    }
    await engine.forget(id.id);
    await ctx.editMessageText(texts.forgotten).catch(() => ctx.reply(texts.forgotten));
  });

  // Unknown commands; replies to letters; anything else gets a hint.
  bot.on('message:text', async (ctx) => {
    const text = ctx.message.text;
    if (text.startsWith('/')) {
      const command = (text.slice(1).split(/[\s@]/)[0] ?? '').toLowerCase();
      await ctx.reply(KNOWN.has(command) ? texts.help : texts.unknownCommand(command));
      return;
    }
    const replied = ctx.message.reply_to_message;
    if (replied === undefined) {
      await ctx.reply(texts.notACommand);
      return;
    }
    const id = await mustIdentity(ctx);
    if (id === undefined) return;
    const sent = await engine.answer(id.id, String(replied.message_id), text);
    await ctx.reply(sent === undefined ? texts.notALetter : texts.queued(sent.to));
  });

  bot.catch(async (err) => {
    const error = err.error;
    logger.warn('telegram.handler_failed', {
      code: isKomradeError(error) ? error.code : 'INTERNAL',
    });
    await err.ctx.reply(errorMessage(error)).catch(() => undefined);
  });
}
