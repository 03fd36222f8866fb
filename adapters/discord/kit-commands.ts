/**
 * The kit's commands on Discord, by one generic path: the spec named by the slash command (and
 * its subcommand), its options checked against the spec's schema, the kit's action run, and the
 * view it answers worded by the kit's catalogue in Discord markdown.
 */
import {
  commandsTyped,
  errorView,
  parseOptions,
  powProgress,
  render,
  runCommand,
  say,
  stringArg,
  workingText,
  type ArgValues,
  type BridgeEngine,
  type ChannelLinkStore,
  type CommandCaller,
  type CommandSpec,
  type View,
  type WorkingUsers,
} from '../../bridge/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { DiscordSurface } from './discord-surface.js';
import { KIT_COMMANDS, discordSurface } from './discord-surface-kit.js';
import {
  NO_MENTIONS,
  answer,
  deferPrivately,
  eventOf,
  userKey,
  type Interaction,
} from './replies.js';

/** What the kit's commands are run with. */
export interface KitCommandDeps {
  readonly engine: BridgeEngine;
  readonly store: ChannelLinkStore;
  readonly surface: DiscordSurface;
  readonly logger: Logger;
  /** Users with a proof of work running (shared with the Discord-only commands). */
  readonly working: WorkingUsers;
}

/** Proof-of-work progress is shown at most this often (each edit is a Discord request). */
const PROGRESS_EVERY_MS = 2_000;
/** Answered from what the bridge holds: no need to acknowledge first. */
const LOCAL = new Set(['help', 'collectives']);

/** The kit spec a slash command names, if it is one of the kit's. */
export function kitSpecOf(i: Interaction): CommandSpec | undefined {
  const alike = commandsTyped(discordSurface, i.commandName).filter((spec) =>
    KIT_COMMANDS.includes(spec),
  );
  const sub = i.options.getSubcommand(false);
  return sub === null ? alike[0] : alike.find((spec) => spec.keyword?.word === sub);
}

/** Runs the kit's commands. */
export class KitCommands {
  readonly #deps: KitCommandDeps;
  readonly #leave: CommandSpec | undefined;

  constructor(deps: KitCommandDeps) {
    this.#deps = deps;
    const leave = KIT_COMMANDS.find((spec) => spec.name === 'leave');
    this.#leave = leave === undefined ? undefined : this.#endingLinks(leave);
  }

  /** Answers `spec` for the interaction; a failure is answered with what to do about it. */
  async run(i: Interaction, spec: CommandSpec): Promise<void> {
    const linked = this.#deps.store.linkOf(i.channelId)?.collective;
    const parsed = parseOptions(spec, (arg) => i.options.get(arg.name)?.value, linked);
    if (!parsed.ok) {
      await answer(
        i,
        say({ kind: 'usage', specs: [spec], problem: parsed.problem }, discordSurface),
      );
      return;
    }
    const runs = spec.name === 'leave' ? (this.#leave ?? spec) : spec;
    const view =
      spec.proofOfWork === true
        ? await this.#withProofOfWork(i, runs, parsed.args)
        : await this.#answerOf(i, runs, parsed.args);
    await answer(i, say(view, discordSurface));
  }

  #caller(i: Interaction): CommandCaller {
    return {
      engine: this.#deps.engine,
      user: userKey(i.user.id),
      chat: i.user.id,
      event: eventOf(i),
    };
  }

  async #answerOf(i: Interaction, spec: CommandSpec, args: ArgValues): Promise<View> {
    if (!LOCAL.has(spec.name)) await deferPrivately(i);
    const caller = this.#caller(i);
    const view = await this.#runOrError(spec, caller, args);
    // A registration still running is not one that failed.
    return view.kind === 'not-registered' && this.#deps.working.has(caller.user)
      ? { kind: 'busy' }
      : view;
  }

  /** Runs a proof of work, showing its progress now and then; one per user at a time. */
  async #withProofOfWork(i: Interaction, spec: CommandSpec, args: ArgValues): Promise<View> {
    const caller = this.#caller(i);
    const { working } = this.#deps;
    if (!working.start(caller.user)) return { kind: 'busy' };
    const subject = stringArg(args, spec.args[0]?.name ?? '');
    const progress = powProgress({
      everyMs: PROGRESS_EVERY_MS,
      show: (percent) =>
        i.editReply({
          content: render(workingText(spec.name, subject, percent), discordSurface),
          allowedMentions: NO_MENTIONS,
        }),
    });
    try {
      await deferPrivately(i);
      return await this.#runOrError(spec, { ...caller, onProgress: progress.onProgress }, args);
    } finally {
      // The answer comes after the last progress edit, never before it.
      await progress.settled();
      working.finish(caller.user);
    }
  }

  async #runOrError(spec: CommandSpec, caller: CommandCaller, args: ArgValues): Promise<View> {
    try {
      return await runCommand(spec, caller, args);
    } catch (error) {
      this.#deps.logger.warn('discord.command_failed', {
        code: isKomradeError(error) ? error.code : 'INTERNAL',
      });
      return errorView(error);
    }
  }

  /** `leave`, which also ends the links the leaver made: they carried it on their membership. */
  #endingLinks(leave: CommandSpec): CommandSpec {
    return {
      ...leave,
      run: async (context, args) => {
        const view = await leave.run(context, args);
        if (view.kind !== 'left') return view;
        const unlinked = await this.#deps.surface.endLinksOf(context.me.id, view.collective);
        return { ...view, unlinked };
      },
    };
  }
}
