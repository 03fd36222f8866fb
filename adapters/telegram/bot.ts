/** The bot's commands and buttons: grammY handlers that drive the bridge engine. */
import type { Bot } from 'grammy';
import { InputFile, InlineKeyboard, type Context } from 'grammy';
import { constitutionMessage, type BridgeEngine } from '../../bridge/index.js';
import type { Logger } from '../../common/logging/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import {
  MAX_QUORUM,
  MAX_VOTING_WINDOW_DAYS,
  type Constitution,
} from '../../common/collectives/index.js';
import { parseName, parseNewName } from '../../common/wire/index.js';
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

/** Reads a file a user sent, by its Bot API `file_path` (the URL holds the token). */
export type DownloadFile = (filePath: string) => Promise<Uint8Array>;

/** Telegram lets bots download files up to 20 MB. */
const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;
/** A /backup or /restore waits this long for its passphrase message. */
const PASSPHRASE_WAIT_MS = 10 * 60_000;

/** What a user's next plain message is taken as: a passphrase for one of these. */
type AwaitingPassphrase =
  | { readonly kind: 'backup'; readonly until: number }
  | {
      readonly kind: 'restore';
      readonly until: number;
      readonly fileId: string;
      readonly replace: boolean;
    };

const FEED_PAGE = 5;
const DEFAULT_POST_DAYS = 7;
const DAY_MS = 86_400_000;
const KNOWN = new Set<string>(COMMANDS.map((c) => c.command));

/** The Telegram user key the engine knows an identity by (kept only in the adapter's store). */
const userKey = (ctx: Context) => `telegram:${String(ctx.from?.id)}`;

/**
 * The update a handler acts on, as the engine records it: Telegram delivers an update again when
 * the bot died before confirming it, and the engine then acts on it once.
 */
const eventOf = (ctx: Context) => ({ event: `telegram:${ctx.me.id}:${ctx.update.update_id}` });

/** Splits `/cmd a b c` arguments: the first word, and the rest verbatim. */
function firstWord(text: string): [string, string] {
  const trimmed = text.trim();
  const space = trimmed.search(/\s/);
  return space === -1 ? [trimmed, ''] : [trimmed.slice(0, space), trimmed.slice(space).trim()];
}

/** Splits arguments into words (`/cmd a b c`). */
const words = (text: string) =>
  text
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);

/** A name as typed (`@Portland`), the way the Operator spells it (`portland`), for replies. */
const shownName = (input: string) => input.replace(/^@/, '').toLowerCase();

async function replyLong(ctx: Context, text: string): Promise<void> {
  for (const chunk of splitForTelegram(text)) await ctx.reply(chunk);
}

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
  const registering = new Set<string>();
  // Held in this process only: the passphrase that answers it never reaches the queue or a log.
  const awaiting = new Map<string, AwaitingPassphrase>();
  const wait = (ctx: BotContext, waiting: AwaitingPassphrase) => {
    // Waits nobody answered are dropped here rather than kept forever.
    for (const [key, old] of awaiting) if (old.until < Date.now()) awaiting.delete(key);
    awaiting.set(userKey(ctx), waiting);
  };
  const creating = new Set<string>();
  // Feed cursors are longer than a button's 64 bytes: buttons carry a short token instead.
  const cursors = new Map<string, string>();

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

  // A passphrase asked for by /backup or /restore: taken, deleted from the chat, used, forgotten.
  bot.on('message', async (ctx, next) => {
    const key = userKey(ctx);
    const waiting = awaiting.get(key);
    if (waiting === undefined) return next();
    awaiting.delete(key);
    const text = ctx.message.text;
    if (waiting.until < Date.now() || text === undefined || text.startsWith('/')) {
      if (text?.startsWith('/') !== true) await ctx.reply(texts.passphraseCancelled);
      return next();
    }
    const deleted = await ctx.deleteMessage().then(
      () => true,
      () => false,
    );
    await ctx.reply(deleted ? texts.passphraseDeleted : texts.passphraseNotDeleted);
    if (waiting.kind === 'backup') await sendBackup(ctx, text);
    else await restoreBackup(ctx, waiting.fileId, waiting.replace, text);
    return undefined;
  });

  const sendBackup = async (ctx: BotContext, passphrase: string) => {
    const id = await mustRegistered(ctx);
    if (id === undefined) return;
    const file = await engine.backupIdentity(id.id, passphrase);
    await ctx.replyWithDocument(new InputFile(file, `komrade-${id.name}.backup`), {
      caption: texts.backupCaption(id.name),
    });
  };

  const restoreBackup = async (
    ctx: BotContext,
    fileId: string,
    replace: boolean,
    passphrase: string,
  ) => {
    const file = await ctx.api.getFile(fileId);
    if (file.file_path === undefined || (file.file_size ?? 0) > MAX_DOWNLOAD_BYTES) {
      await ctx.reply(texts.backupTooLarge);
      return;
    }
    const bytes = await download(file.file_path);
    const chat = String(ctx.chat?.id ?? ctx.from?.id);
    const restored = await engine.restoreIdentity(userKey(ctx), chat, bytes, passphrase, {
      replace,
    });
    await ctx.reply(texts.restored(restored.name ?? ''));
  };

  const identity = (ctx: BotContext) => ctx.komrade.engine.identityOf(userKey(ctx));
  const mustIdentity = async (ctx: BotContext) => {
    const found = identity(ctx);
    if (found === undefined) await ctx.reply(texts.noIdentity);
    return found;
  };

  /** The user's identity if it has a registered name; otherwise says what to do. */
  const mustRegistered = async (ctx: BotContext) => {
    const found = await mustIdentity(ctx);
    if (found === undefined) return undefined;
    if (found.name === null) {
      await ctx.reply(errorMessage(new KomradeError('NOT_REGISTERED', 'Not registered.')));
      return undefined;
    }
    return { id: found.id, name: found.name };
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
    const sent = await engine.send(id.id, to, text, eventOf(ctx));
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
    // The letter stays as it was (only its buttons go); the answer is a reply under it.
    await ctx.editMessageReplyMarkup().catch(() => undefined);
    const shown = ctx.callbackQuery.message?.message_id;
    await ctx.reply(
      text,
      shown === undefined
        ? {}
        : { reply_parameters: { message_id: shown, allow_sending_without_reply: true } },
    );
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
    const posted = await engine.once(eventOf(ctx), () => engine.client(id.id).post(rest, days));
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
    const result = await engine.follow(id.id, name, eventOf(ctx));
    return ctx.reply(texts.followed(result.name, result.added));
  });

  bot.command('unfollow', async (ctx) => {
    const [name] = firstWord(ctx.match);
    if (name.length === 0) return ctx.reply(texts.usage.unfollow);
    const id = await mustIdentity(ctx);
    if (id === undefined) return undefined;
    const result = await engine.unfollow(id.id, name, eventOf(ctx));
    return ctx.reply(texts.unfollowed(result.name, result.removed));
  });

  bot.command('postfollowers', async (ctx) => {
    const text = ctx.match.trim();
    if (text.length === 0) return ctx.reply(texts.usage.postfollowers);
    const id = await mustIdentity(ctx);
    if (id === undefined) return undefined;
    const sent = await engine.postToFollowers(id.id, text, eventOf(ctx));
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

  // ---- collectives -------------------------------------------------------------------------

  bot.command('create_collective', async (ctx) => {
    const args = words(ctx.match);
    const [wanted] = args;
    if (wanted === undefined || args.length > 1) return ctx.reply(texts.usage.createCollective);
    // Checked here so a bad name is answered at once, not after a progress message.
    const parsed = parseNewName(wanted);
    if (!parsed.ok) return ctx.reply(errorMessage(parsed.error));
    const id = await mustRegistered(ctx);
    if (id === undefined) return undefined;
    const key = userKey(ctx);
    if (creating.has(key)) return ctx.reply(texts.busyCollective);
    const shown = parsed.value;
    const progress = await ctx.reply(texts.creatingCollective(shown, 0));
    creating.add(key);
    let lastEdit = Date.now();
    let lastPercent = 0;
    const edit = (text: string) =>
      ctx.api.editMessageText(ctx.chat.id, progress.message_id, text).catch(() => undefined);
    // Proof of work, as for /register: beside the update loop, so nobody else waits.
    void engine
      .createCollective(id.id, wanted, {
        onProgress: ({ tried, expected }) => {
          const percent = Math.min(99, Math.floor((100 * tried) / expected));
          if (percent > lastPercent && Date.now() - lastEdit > 1_000) {
            lastEdit = Date.now();
            lastPercent = percent;
            void edit(texts.creatingCollective(shown, percent));
          }
        },
      })
      .then(
        (view) => edit(texts.createdCollective(view.name)),
        (error: unknown) => edit(errorMessage(error)),
      )
      .finally(() => creating.delete(key));
    return undefined;
  });

  bot.command('join', async (ctx) => {
    const [name, note] = firstWord(ctx.match);
    if (name.length === 0) return ctx.reply(texts.usage.join);
    const id = await mustRegistered(ctx);
    if (id === undefined) return undefined;
    const view = await engine.requestToJoin(
      id.id,
      name,
      note.length > 0 ? note : undefined,
      eventOf(ctx),
    );
    return ctx.reply(texts.joinRequested(view, id.name));
  });

  bot.command('vouch', async (ctx) => {
    const args = words(ctx.match);
    const [name, candidate] = args;
    if (name === undefined || candidate === undefined || args.length > 2) {
      return ctx.reply(texts.usage.vouch);
    }
    const id = await mustRegistered(ctx);
    if (id === undefined) return undefined;
    return ctx.reply(texts.vouched(await engine.vouch(id.id, name, candidate, eventOf(ctx))));
  });

  /** `/cmd NAME` commands that show a collective. */
  const showCollective = (
    command: 'pending' | 'members' | 'constitution' | 'proposals',
    render: (view: Awaited<ReturnType<BridgeEngine['collective']>>) => string,
  ) => {
    bot.command(command, async (ctx) => {
      const args = words(ctx.match);
      const [name] = args;
      if (name === undefined || args.length > 1) return ctx.reply(texts.usage[command]);
      const id = await mustRegistered(ctx);
      if (id === undefined) return undefined;
      await replyLong(ctx, render(await engine.collective(id.id, name)));
      return undefined;
    });
  };
  showCollective('pending', (view) =>
    view.pending.length === 0
      ? texts.pendingNone(view.name)
      : texts.pending(view.name, view.pending),
  );
  showCollective('members', (view) => texts.members(view.name, view.members));
  showCollective('constitution', constitutionMessage);
  showCollective('proposals', (view) =>
    view.proposals.length === 0 ? texts.proposalsNone(view.name) : texts.proposals(view),
  );

  bot.command('propose', async (ctx) => {
    const args = words(ctx.match);
    const [name, what = '', value = ''] = args;
    const number = /^\d{1,5}$/.test(value) ? Number(value) : 0;
    let rule: Partial<Constitution> | undefined;
    let member: string | undefined;
    switch (what.toLowerCase()) {
      case 'quorum':
        if (number >= 1 && number <= MAX_QUORUM) rule = { quorum: { fixed: number } };
        break;
      case 'window':
        if (number >= 1 && number <= MAX_VOTING_WINDOW_DAYS)
          rule = { votingWindowMs: number * DAY_MS };
        break;
      case 'remove': {
        const parsed = parseName(value);
        if (!parsed.ok) return ctx.reply(errorMessage(parsed.error));
        member = parsed.value;
        break;
      }
    }
    if (name === undefined || args.length !== 3 || (rule === undefined && member === undefined)) {
      return ctx.reply(texts.usage.propose);
    }
    const id = await mustRegistered(ctx);
    if (id === undefined) return undefined;
    const { proposal, current } = await engine.proposeRule(
      id.id,
      name,
      rule === undefined ? { remove: member ?? '' } : { amend: rule },
      eventOf(ctx),
    );
    return ctx.reply(texts.proposed(shownName(name), proposal, current));
  });

  bot.command('vote', async (ctx) => {
    const args = words(ctx.match);
    const [name, number, choice] = args;
    const proposal = /^#?\d{1,15}$/.test(number ?? '') ? Number(number?.replace('#', '')) : NaN;
    const yes = /^(yes|y)$/i.test(choice ?? '')
      ? true
      : /^(no|n)$/i.test(choice ?? '')
        ? false
        : undefined;
    if (name === undefined || Number.isNaN(proposal) || yes === undefined || args.length > 3) {
      return ctx.reply(texts.usage.vote);
    }
    const id = await mustRegistered(ctx);
    if (id === undefined) return undefined;
    return ctx.reply(texts.voted(yes, await engine.vote(id.id, name, proposal, yes, eventOf(ctx))));
  });

  bot.command('leave', async (ctx) => {
    const args = words(ctx.match);
    const [name] = args;
    if (name === undefined || args.length > 1) return ctx.reply(texts.usage.leave);
    const id = await mustRegistered(ctx);
    if (id === undefined) return undefined;
    await engine.leave(id.id, name, eventOf(ctx));
    return ctx.reply(texts.left(shownName(name)));
  });

  bot.command('say', async (ctx) => {
    const [name, text] = firstWord(ctx.match);
    if (name.length === 0 || text.length === 0) return ctx.reply(texts.usage.say);
    const id = await mustRegistered(ctx);
    if (id === undefined) return undefined;
    const sent = await engine.sendToCollective(id.id, name, text, eventOf(ctx));
    return ctx.reply(texts.said(sent.collective, sent.recipients));
  });

  bot.command('collectives', async (ctx) => {
    const id = await mustRegistered(ctx);
    if (id === undefined) return;
    const names = engine.collectives(id.id);
    await ctx.reply(names.length === 0 ? texts.collectivesNone : texts.collectives(names));
  });

  bot.command('backup', async (ctx) => {
    const id = await mustRegistered(ctx);
    if (id === undefined) return;
    wait(ctx, { kind: 'backup', until: Date.now() + PASSPHRASE_WAIT_MS });
    await ctx.reply(texts.backupAsk);
  });

  /** `/restore [replace]` for a backup document: checks, then waits for its passphrase. */
  const startRestore = async (
    ctx: BotContext,
    document: { readonly file_id: string; readonly file_size?: number } | undefined,
    argument: string,
  ) => {
    const replace = argument.trim().toLowerCase() === 'replace';
    if (document === undefined) return ctx.reply(texts.usage.restore);
    if ((document.file_size ?? 0) > MAX_DOWNLOAD_BYTES) return ctx.reply(texts.backupTooLarge);
    // Said before the passphrase is typed, not after.
    if (!replace && identity(ctx) !== undefined) return ctx.reply(texts.restoreRefused);
    wait(ctx, {
      kind: 'restore',
      until: Date.now() + PASSPHRASE_WAIT_MS,
      fileId: document.file_id,
      replace,
    });
    return ctx.reply(texts.restoreAsk);
  };

  bot.command('restore', (ctx) => startRestore(ctx, ctx.msg.reply_to_message?.document, ctx.match));
  // grammY's command filter reads only a text's entities: a caption is matched here.
  bot.on('message:document', async (ctx, next) => {
    const caption = /^\/restore(?:@\w+)?(?:\s+(.*))?$/is.exec(ctx.msg.caption?.trim() ?? '');
    if (caption === null) return next();
    return startRestore(ctx, ctx.msg.document, caption[1] ?? '');
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
    const sent = await engine.answer(id.id, String(replied.message_id), text, eventOf(ctx));
    await ctx.reply(
      sent === undefined
        ? texts.notALetter
        : 'collective' in sent
          ? texts.said(sent.collective, sent.recipients)
          : texts.queued(sent.to),
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
