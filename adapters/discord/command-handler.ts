/**
 * `CommandHandler`: answers the slash commands. The kit's commands go through one generic path
 * (kit-commands.ts); linking channels and backups are Discord's own. Every answer is private
 * (ephemeral); wrong use is answered at once with the command's usage.
 */
import { WorkingUsers, type BridgeEngine, type ChannelLinkStore } from '../../bridge/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { BackupCommands } from './backup-commands.js';
import type { DiscordSurface } from './discord-surface.js';
import { KitCommands, kitSpecOf } from './kit-commands.js';
import { LinkCommands } from './link-commands.js';
import type { PuppetPoster } from './puppets.js';
import { Answer, answer, answerView, type Interaction } from './replies.js';
import { errorMessage, texts } from './texts.js';

/** What the handler is built from. */
export interface CommandHandlerDeps {
  readonly engine: BridgeEngine;
  readonly store: ChannelLinkStore;
  readonly puppets: PuppetPoster;
  readonly surface: DiscordSurface;
  readonly logger: Logger;
}

/** Runs the commands. */
export class CommandHandler {
  readonly #logger: Logger;
  readonly #kit: KitCommands;
  readonly #links: LinkCommands;
  readonly #backups: BackupCommands;
  #stopping = false;

  constructor(deps: CommandHandlerDeps) {
    // One proof of work per user, whichever command runs it; a restore waits for it too.
    const working = new WorkingUsers();
    this.#logger = deps.logger;
    this.#kit = new KitCommands({ ...deps, working });
    this.#links = new LinkCommands({ ...deps, working });
    this.#backups = new BackupCommands({ engine: deps.engine, working });
  }

  /** Answers `stopping` from now on. */
  stop(): void {
    this.#stopping = true;
  }

  /** Answers one command; never throws. */
  async handle(interaction: Interaction): Promise<void> {
    try {
      if (this.#stopping) throw new Answer(texts.stopping);
      await this.#run(interaction);
    } catch (error) {
      if (!(error instanceof Answer)) {
        this.#logger.warn('discord.command_failed', {
          code: isKomradeError(error) ? error.code : 'INTERNAL',
        });
      }
      const text = error instanceof Answer ? error.text : errorMessage(error);
      await answer(interaction, text).catch((answerError: unknown) => {
        this.#logger.warn('discord.answer_failed', {
          code: isKomradeError(answerError) ? answerError.code : 'INTERNAL',
        });
      });
    }
  }

  async #run(i: Interaction): Promise<void> {
    switch (i.commandName) {
      case 'link':
        return this.#links.link(i);
      case 'unlink':
        return this.#links.unlink(i);
      case 'backup':
        return this.#backups.backup(i);
      case 'restore':
        return this.#backups.restore(i);
    }
    const spec = kitSpecOf(i);
    if (spec === undefined) throw answerView({ kind: 'unknown-command', typed: i.commandName });
    await this.#kit.run(i, spec);
  }
}
