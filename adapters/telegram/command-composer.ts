/**
 * The kit's commands on Telegram: one handler per typed name parses the words after it, runs the
 * command and answers with its view. A proof of work runs beside the update loop, its progress
 * shown by editing one message.
 */
import { Composer } from 'grammy';
import {
  WorkingUsers,
  commandsTyped,
  errorView,
  parseWords,
  powProgress,
  render,
  runCommand,
  typedOn,
  workingText,
  type ArgValues,
  type CommandCaller,
  type CommandSpec,
  type View,
} from '../../bridge/index.js';
import { callerOf, type BotContext } from './bot-context.js';
import { TELEGRAM, viewMessages } from './surface.js';

/** Shows a view in reply (buttons included where the view has some). */
export type ReplyView = (ctx: BotContext, view: View) => Promise<void>;

/**
 * Handlers for every kit command the Telegram surface offers.
 * @param reply - answers with a view (see `replyView`)
 */
export function commandComposer(reply: ReplyView): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const working = new WorkingUsers();
  const typedNames = new Set(TELEGRAM.commands.map((spec) => typedOn(TELEGRAM, spec)));
  for (const typed of typedNames) {
    const specs = commandsTyped(TELEGRAM, typed);
    composer.command(typed, async (ctx) => {
      const parsed = parseWords(specs, ctx.match);
      if (!parsed.ok) {
        await reply(ctx, { kind: 'usage', specs, problem: parsed.problem });
        return;
      }
      const caller = callerOf(ctx);
      if (parsed.spec.proofOfWork === true && needsMet(parsed.spec, caller)) {
        await startProofOfWork(ctx, parsed.spec, caller, parsed.args, working, reply);
        return;
      }
      await reply(ctx, await runCommand(parsed.spec, caller, parsed.args));
    });
  }
  return composer;
}

/** Whether the caller has what `spec` needs (otherwise it answers at once, with no progress). */
function needsMet(spec: CommandSpec, caller: CommandCaller): boolean {
  if (spec.needs === 'nothing') return true;
  const found = caller.engine.identityOf(caller.user);
  return found !== undefined && (spec.needs === 'identity' || found.name !== null);
}

/**
 * Starts a proof of work: a progress message now, edited as it goes and finally into the
 * answer. It runs beside the update loop, so other users are not kept waiting; one per user.
 */
async function startProofOfWork(
  ctx: BotContext,
  spec: CommandSpec,
  caller: CommandCaller,
  args: ArgValues,
  working: WorkingUsers,
  reply: ReplyView,
): Promise<void> {
  if (!working.start(caller.user)) {
    await reply(ctx, { kind: 'busy' });
    return;
  }
  const subject = String(args[spec.args[0]?.name ?? ''] ?? '');
  const progressText = (percent: number) =>
    render(workingText(spec.name, subject, percent), TELEGRAM);
  const chat = ctx.chat?.id ?? 0;
  let shown: number;
  try {
    shown = (await ctx.reply(progressText(0))).message_id;
  } catch (error) {
    working.finish(caller.user);
    throw error;
  }
  const edit = (text: string) => ctx.api.editMessageText(chat, shown, text).catch(() => undefined);
  const progress = powProgress({ show: (percent) => edit(progressText(percent)) });
  void runCommand(spec, { ...caller, onProgress: progress.onProgress }, args)
    .catch(errorView)
    .then(async (view) => {
      await progress.settled();
      const [first = '', ...rest] = viewMessages(view);
      await edit(first);
      for (const chunk of rest) await ctx.reply(chunk).catch(() => undefined);
    })
    .finally(() => {
      working.finish(caller.user);
    });
}
