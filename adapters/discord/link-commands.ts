/**
 * `/link` and `/unlink`: a channel manager who is a member makes a channel carry a collective
 * (what members write there goes to it, and its messages appear there), or stops it. Both are
 * also announced in the channel, for everyone who reads it.
 */
import { PermissionFlagsBits } from 'discord.js';
import {
  parseOptions,
  say,
  type BridgeEngine,
  type ChannelLinkStore,
  type WorkingUsers,
} from '../../bridge/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { LINK_COMMAND as LINK, discordSurface } from './discord-surface-kit.js';
import type { PuppetPoster } from './puppets.js';
import { Answer, NO_MENTIONS, registeredIdentity, work, type Interaction } from './replies.js';
import { texts } from './texts.js';

/** What the link commands are run with. */
export interface LinkCommandDeps {
  readonly engine: BridgeEngine;
  readonly store: ChannelLinkStore;
  readonly puppets: PuppetPoster;
  readonly logger: Logger;
  readonly working: WorkingUsers;
}

/** Links and unlinks channels. */
export class LinkCommands {
  readonly #deps: LinkCommandDeps;

  constructor(deps: LinkCommandDeps) {
    this.#deps = deps;
  }

  /** Only in a server channel, and only for those who may manage it (checked again here). */
  #mustManage(i: Interaction): { guildId: string } {
    if (!i.inGuild() || i.channel === null) throw new Answer(texts.notHere);
    if (!i.memberPermissions.has(PermissionFlagsBits.ManageChannels)) {
      throw new Answer(texts.linkNeedsManager);
    }
    return { guildId: i.guildId };
  }

  async link(i: Interaction): Promise<void> {
    const { guildId } = this.#mustManage(i);
    // The kit's schema checks the name (an explicit collective: a link never stands in for it).
    const parsed = parseOptions(LINK, (arg) => i.options.get(arg.name)?.value);
    if (!parsed.ok) {
      throw new Answer(
        say({ kind: 'usage', specs: [LINK], problem: parsed.problem }, discordSurface),
      );
    }
    const name = String(parsed.args['collective']);
    const me = registeredIdentity(this.#deps.engine, this.#deps.working, i);
    await work(i, async () => {
      const { engine, store, puppets, logger } = this.#deps;
      let standing: string;
      try {
        standing = (await engine.collective(me.id, name)).standing;
      } catch (error) {
        if (isKomradeError(error, 'NOT_MEMBER')) return texts.linkNeedsMember(name);
        throw error;
      }
      if (standing !== 'member') return texts.linkNeedsMember(name);
      // From this command on, what members write here goes to the collective.
      const already = store.link({
        channelId: i.channelId,
        guildId,
        collective: name,
        linkedBy: me.id,
        cursor: i.id,
      });
      if (already !== undefined) return texts.alreadyLinked(already);
      logger.info('discord.linked', {});
      const webhook = await puppets.webhookFor(i.channelId).catch(() => undefined);
      await this.#announce(i, texts.linkAnnouncement(name));
      return texts.linked(name, webhook !== undefined);
    });
  }

  async unlink(i: Interaction): Promise<void> {
    this.#mustManage(i);
    const link = this.#deps.store.unlink(i.channelId);
    if (link === undefined) throw new Answer(texts.notLinked);
    this.#deps.logger.info('discord.unlinked', {});
    await work(i, async () => {
      await this.#deps.puppets.forget(i.channelId);
      await this.#announce(i, texts.unlinkAnnouncement(link.collective));
      return texts.unlinked(link.collective);
    });
  }

  /** Says something in the channel for everyone (best effort: the command's answer says it too). */
  async #announce(i: Interaction, text: string): Promise<void> {
    try {
      if (i.channel?.isSendable() === true) {
        await i.channel.send({ content: text, allowedMentions: NO_MENTIONS });
      }
    } catch (error) {
      this.#deps.logger.info('discord.announce_failed', {
        code: isKomradeError(error) ? error.code : 'INTERNAL',
      });
    }
  }
}
