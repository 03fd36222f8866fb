/**
 * /backup and /restore: the identity as a file encrypted under a passphrase the user types next,
 * which is deleted from the chat at once, used, and forgotten.
 */
import { Composer, InputFile } from 'grammy';
import type { View } from '../../bridge/index.js';
import { userKey, type BotContext } from './bot-context.js';
import { texts } from './texts.js';

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

/**
 * The backup and restore flows; install before the commands, since a waited-for passphrase is
 * taken before anything else reads the message.
 * @param reply - answers with a kit view (what to do first)
 */
export function backupComposer(
  download: DownloadFile,
  reply: (ctx: BotContext, view: View) => Promise<void>,
): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  // Held in this process only: the passphrase that answers it never reaches the queue or a log.
  const awaiting = new Map<string, AwaitingPassphrase>();
  const wait = (ctx: BotContext, waiting: AwaitingPassphrase) => {
    // Waits nobody answered are dropped here rather than kept forever.
    for (const [key, old] of awaiting) if (old.until < Date.now()) awaiting.delete(key);
    awaiting.set(userKey(ctx), waiting);
  };

  /** The user's registered identity; otherwise says what to do first. */
  const registered = async (ctx: BotContext) => {
    const found = ctx.komrade.engine.identityOf(userKey(ctx));
    if (found === undefined) await reply(ctx, { kind: 'no-identity' });
    else if (found.name === null) await reply(ctx, { kind: 'not-registered' });
    else return { id: found.id, name: found.name };
    return undefined;
  };

  const sendBackup = async (ctx: BotContext, passphrase: string) => {
    const id = await registered(ctx);
    if (id === undefined) return;
    const file = await ctx.komrade.engine.backupIdentity(id.id, passphrase);
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
    const restored = await ctx.komrade.engine.restoreIdentity(
      userKey(ctx),
      chat,
      bytes,
      passphrase,
      { replace },
    );
    await ctx.reply(texts.restored(restored.name ?? ''));
  };

  // A passphrase asked for by /backup or /restore: taken, deleted from the chat, used, forgotten.
  composer.on('message', async (ctx, next) => {
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

  composer.command('backup', async (ctx) => {
    if ((await registered(ctx)) === undefined) return;
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
    if (document === undefined) return ctx.reply(texts.restoreUsage);
    if ((document.file_size ?? 0) > MAX_DOWNLOAD_BYTES) return ctx.reply(texts.backupTooLarge);
    // Said before the passphrase is typed, not after.
    if (!replace && ctx.komrade.engine.identityOf(userKey(ctx)) !== undefined)
      return ctx.reply(texts.restoreRefused);
    wait(ctx, {
      kind: 'restore',
      until: Date.now() + PASSPHRASE_WAIT_MS,
      fileId: document.file_id,
      replace,
    });
    return ctx.reply(texts.restoreAsk);
  };

  composer.command('restore', (ctx) =>
    startRestore(ctx, ctx.msg.reply_to_message?.document, ctx.match),
  );
  // grammY's command filter reads only a text's entities: a caption is matched here.
  composer.on('message:document', async (ctx, next) => {
    const caption = /^\/restore(?:@\w+)?(?:\s+(.*))?$/is.exec(ctx.msg.caption?.trim() ?? '');
    if (caption === null) return next();
    return startRestore(ctx, ctx.msg.document, caption[1] ?? '');
  });

  return composer;
}
