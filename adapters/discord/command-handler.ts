/**
 * `CommandHandler`: answers the slash commands by driving the bridge engine. Every answer is
 * ephemeral (only the user sees it); linking and unlinking are also announced in the channel.
 * Anything that reaches the Operator is deferred first, since Discord drops an interaction not
 * acknowledged within 3 seconds; wrong use is answered at once with help.
 */
import { MessageFlags, PermissionFlagsBits, type ChatInputCommandInteraction } from 'discord.js';
import type { BridgeEngine, ChannelLinkStore } from '../../bridge/index.js';
import {
  MAX_QUORUM,
  MAX_VOTING_WINDOW_DAYS,
  type Constitution,
} from '../../common/collectives/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { parseName, parseNewName } from '../../common/wire/index.js';
import type { DiscordSurface } from './discord-surface.js';
import type { PuppetPoster } from './puppets.js';
import { errorMessage, splitForDiscord, texts } from './texts.js';

/** What the handler is built from. */
export interface CommandHandlerDeps {
  readonly engine: BridgeEngine;
  readonly store: ChannelLinkStore;
  readonly puppets: PuppetPoster;
  readonly surface: DiscordSurface;
  readonly logger: Logger;
}

type Interaction = ChatInputCommandInteraction;
type Usage = keyof typeof texts.usage;

const DAY_MS = 86_400_000;
/** Far above any real backup; bounds what is downloaded. */
const MAX_BACKUP_DOWNLOAD_BYTES = 25 * 1024 * 1024;
/** Proof-of-work progress is shown at most this often (each edit is a Discord request). */
const PROGRESS_EVERY_MS = 2_000;
const NO_MENTIONS = { parse: [] } as const;

/**
 * The interaction a command acts on, as the engine records it: should Discord hand it over again
 * (a reconnection replaying events), the engine acts on it once.
 */
const eventOf = (i: Interaction) => ({ event: `discord:${i.id}` });

/** The key the engine knows a Discord user's identity by (kept only in the bridge store). */
export const userKey = (userId: string) => `discord:${userId}`;

/** Thrown inside a handler to answer with help instead of an error. */
class Answer extends Error {
  constructor(readonly text: string) {
    super('answer');
  }
}

/** Runs the commands. */
export class CommandHandler {
  readonly #deps: CommandHandlerDeps;
  /** Users whose registration or creation (a proof of work) is running. */
  readonly #working = new Set<string>();
  #stopping = false;

  constructor(deps: CommandHandlerDeps) {
    this.#deps = deps;
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
        this.#deps.logger.warn('discord.command_failed', {
          code: isKomradeError(error) ? error.code : 'INTERNAL',
        });
      }
      const text = error instanceof Answer ? error.text : errorMessage(error);
      await this.#answer(interaction, text).catch((answerError: unknown) => {
        this.#deps.logger.warn('discord.answer_failed', {
          code: isKomradeError(answerError) ? answerError.code : 'INTERNAL',
        });
      });
    }
  }

  async #run(i: Interaction): Promise<void> {
    switch (i.commandName) {
      case 'help':
        return this.#answer(i, texts.help);
      case 'register':
        return this.#register(i);
      case 'create':
        return this.#create(i);
      case 'join':
        return this.#join(i);
      case 'vouch':
        return this.#vouch(i);
      case 'pending':
      case 'members':
      case 'constitution':
      case 'proposals':
        return this.#show(i, i.commandName);
      case 'propose':
        return this.#propose(i);
      case 'vote':
        return this.#vote(i);
      case 'say':
        return this.#say(i);
      case 'leave':
        return this.#leave(i);
      case 'collectives':
        return this.#collectives(i);
      case 'link':
        return this.#link(i);
      case 'unlink':
        return this.#unlink(i);
      case 'backup':
        return this.#backup(i);
      case 'restore':
        return this.#restore(i);
      default:
        throw new Answer(texts.help);
    }
  }

  // ---- answering -----------------------------------------------------------------------------

  /** Answers privately: the reply (or the deferred reply's edit), then follow-ups if long. */
  async #answer(i: Interaction, text: string): Promise<void> {
    const [first = '', ...rest] = splitForDiscord(text);
    if (i.deferred || i.replied) {
      await i.editReply({ content: first, allowedMentions: NO_MENTIONS });
    } else {
      await i.reply({
        content: first,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_MENTIONS,
      });
    }
    for (const chunk of rest) {
      await i.followUp({
        content: chunk,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_MENTIONS,
      });
    }
  }

  /** Acknowledges at once (privately), does the work, answers with its result. */
  async #work(i: Interaction, work: () => Promise<string>): Promise<void> {
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    await this.#answer(i, await work());
  }

  // ---- shared checks -------------------------------------------------------------------------

  /** The user's registered identity; otherwise answers what to do. */
  #registered(i: Interaction): { id: string; name: string } {
    const found = this.#deps.engine.identityOf(userKey(i.user.id));
    if (found === undefined) throw new Answer(texts.noIdentity);
    if (found.name === null) {
      throw new Answer(this.#working.has(i.user.id) ? texts.busy : texts.notRegistered);
    }
    return { id: found.id, name: found.name };
  }

  /**
   * The collective a command is about: its `collective:` option, or the channel's linked one.
   * @throws an {@link Answer} with the command's usage when neither is there
   */
  #collective(i: Interaction, usage: Usage): string {
    const given = i.options.getString('collective');
    if (given === null) {
      const linked = this.#deps.store.linkOf(i.channelId)?.collective;
      if (linked === undefined) throw new Answer(texts.usage[usage]);
      return linked;
    }
    const parsed = parseName(given);
    if (!parsed.ok) throw new Answer(`${errorMessage(parsed.error)}\n${texts.usage[usage]}`);
    return parsed.value;
  }

  /** A Komrade name option, checked. */
  #name(i: Interaction, option: string, usage: Usage): string {
    const parsed = parseName(i.options.getString(option, true));
    if (!parsed.ok) throw new Answer(`${errorMessage(parsed.error)}\n${texts.usage[usage]}`);
    return parsed.value;
  }

  /**
   * Runs a proof of work beside the update loop, showing its progress now and then; one per user.
   */
  async #withProofOfWork(
    i: Interaction,
    progress: (percent: number) => string,
    work: (onProgress: (p: { tried: number; expected: number }) => void) => Promise<string>,
  ): Promise<void> {
    if (this.#working.has(i.user.id)) throw new Answer(texts.busy);
    this.#working.add(i.user.id);
    // Progress edits run one after another, and the answer after the last of them.
    let edits: Promise<unknown> = Promise.resolve();
    try {
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      let lastEdit = Date.now();
      let lastPercent = 0;
      const text = await work(({ tried, expected }) => {
        const percent = Math.min(99, Math.floor((100 * tried) / expected));
        if (percent > lastPercent && Date.now() - lastEdit > PROGRESS_EVERY_MS) {
          lastEdit = Date.now();
          lastPercent = percent;
          edits = edits.then(() => i.editReply(progress(percent))).catch(() => undefined);
        }
      });
      await edits;
      await this.#answer(i, text);
    } finally {
      await edits;
      this.#working.delete(i.user.id);
    }
  }

  // ---- identities and collectives ------------------------------------------------------------

  async #register(i: Interaction): Promise<void> {
    const { engine } = this.#deps;
    const wanted = i.options.getString('name', true);
    // Checked here so a bad name is answered at once, not after a proof of work.
    const parsed = parseNewName(wanted);
    if (!parsed.ok) throw new Answer(`${errorMessage(parsed.error)}\n${texts.usage.register}`);
    const key = userKey(i.user.id);
    const existing = engine.identityOf(key);
    if (existing?.name != null) throw new Answer(texts.alreadyRegistered(existing.name));
    if (this.#working.has(i.user.id)) throw new Answer(texts.busy);
    const id = existing?.id ?? engine.createIdentity(key, i.user.id);
    await this.#withProofOfWork(
      i,
      (percent) => texts.registering(parsed.value, percent),
      async (onProgress) => {
        const profile = await engine.register(id, parsed.value, { onProgress });
        return texts.registered(profile.name);
      },
    );
  }

  // ---- backups: the passphrase is an option of the interaction, answered in this process ------

  async #backup(i: Interaction): Promise<void> {
    const id = this.#registered(i);
    const passphrase = i.options.getString('passphrase', true);
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    const file = await this.#deps.engine.backupIdentity(id.id, passphrase);
    await i.editReply({
      content: texts.backupDone(id.name),
      files: [{ attachment: Buffer.from(file), name: `komrade-${id.name}.backup` }],
      allowedMentions: NO_MENTIONS,
    });
  }

  async #restore(i: Interaction): Promise<void> {
    const { engine } = this.#deps;
    const file = i.options.getAttachment('file', true);
    const passphrase = i.options.getString('passphrase', true);
    const replace = i.options.getBoolean('replace') ?? false;
    if (file.size > MAX_BACKUP_DOWNLOAD_BYTES) throw new Answer(texts.backupTooLarge);
    const key = userKey(i.user.id);
    if (!replace && engine.identityOf(key) !== undefined) throw new Answer(texts.restoreRefused);
    if (this.#working.has(i.user.id)) throw new Answer(texts.busy);
    await this.#work(i, async () => {
      const response = await fetch(file.url);
      if (!response.ok) {
        throw new KomradeError(
          'BACKUP_INVALID',
          'Discord did not hand over the file; attach it again.',
        );
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      const restored = await engine.restoreIdentity(key, i.user.id, bytes, passphrase, { replace });
      return texts.restored(restored.name ?? '');
    });
  }

  async #create(i: Interaction): Promise<void> {
    const parsed = parseNewName(i.options.getString('collective', true));
    if (!parsed.ok) {
      throw new Answer(`${errorMessage(parsed.error)}\nUsage: \`/create collective:NAME\``);
    }
    const me = this.#registered(i);
    await this.#withProofOfWork(
      i,
      (percent) => texts.creating(parsed.value, percent),
      async (onProgress) => {
        const view = await this.#deps.engine.createCollective(me.id, parsed.value, { onProgress });
        return texts.created(view.name);
      },
    );
  }

  async #join(i: Interaction): Promise<void> {
    const name = this.#collective(i, 'join');
    const me = this.#registered(i);
    const note = i.options.getString('note') ?? undefined;
    await this.#work(i, async () =>
      texts.joinRequested(
        await this.#deps.engine.requestToJoin(me.id, name, note, eventOf(i)),
        me.name,
      ),
    );
  }

  async #vouch(i: Interaction): Promise<void> {
    const candidate = this.#name(i, 'candidate', 'vouch');
    const name = this.#collective(i, 'vouch');
    const me = this.#registered(i);
    await this.#work(i, async () =>
      texts.vouched(await this.#deps.engine.vouch(me.id, name, candidate, eventOf(i))),
    );
  }

  async #show(
    i: Interaction,
    command: 'pending' | 'members' | 'constitution' | 'proposals',
  ): Promise<void> {
    const name = this.#collective(i, command);
    const me = this.#registered(i);
    await this.#work(i, async () => {
      const view = await this.#deps.engine.collective(me.id, name);
      switch (command) {
        case 'pending':
          return view.pending.length === 0
            ? texts.pendingNone(view.name)
            : texts.pending(view.name, view.pending);
        case 'members':
          return texts.members(view.name, view.members);
        case 'constitution':
          return texts.constitution(view);
        case 'proposals':
          return view.proposals.length === 0
            ? texts.proposalsNone(view.name)
            : texts.proposals(view);
      }
    });
  }

  async #propose(i: Interaction): Promise<void> {
    const sub = i.options.getSubcommand(false);
    let rule: Partial<Constitution> | undefined;
    let member: string | undefined;
    switch (sub) {
      case 'quorum': {
        const vouches = i.options.getInteger('vouches', true);
        if (vouches < 1 || vouches > MAX_QUORUM) throw new Answer(texts.usage.proposeQuorum);
        rule = { quorum: { fixed: vouches } };
        break;
      }
      case 'window': {
        const days = i.options.getInteger('days', true);
        if (days < 1 || days > MAX_VOTING_WINDOW_DAYS) throw new Answer(texts.usage.proposeWindow);
        rule = { votingWindowMs: days * DAY_MS };
        break;
      }
      case 'remove':
        member = this.#name(i, 'member', 'propose');
        break;
      case null:
      default:
        throw new Answer(texts.usage.propose);
    }
    const name = this.#collective(i, 'propose');
    const me = this.#registered(i);
    await this.#work(i, async () => {
      const { proposal, current } = await this.#deps.engine.proposeRule(
        me.id,
        name,
        rule === undefined ? { remove: member ?? '' } : { amend: rule },
        eventOf(i),
      );
      return texts.proposed(name, proposal, current);
    });
  }

  async #vote(i: Interaction): Promise<void> {
    const proposal = i.options.getInteger('proposal', true);
    const choice = i.options.getString('choice', true).toLowerCase();
    if (proposal < 0 || (choice !== 'yes' && choice !== 'no')) throw new Answer(texts.usage.vote);
    const name = this.#collective(i, 'vote');
    const me = this.#registered(i);
    const yes = choice === 'yes';
    await this.#work(i, async () => {
      const { engine } = this.#deps;
      // An id that is no open proposal gets the list of open ones, not only a rule's name.
      const view = await engine.collective(me.id, name);
      if (!view.proposals.some((p) => p.id === proposal)) {
        const open =
          view.proposals.length === 0 ? texts.proposalsNone(view.name) : texts.proposals(view);
        return `There is no open proposal #${proposal} in @${view.name}.\n${open}`;
      }
      return texts.voted(yes, await engine.vote(me.id, name, proposal, yes, eventOf(i)));
    });
  }

  async #say(i: Interaction): Promise<void> {
    const text = i.options.getString('text', true);
    if (text.trim().length === 0) throw new Answer(texts.usage.say);
    const name = this.#collective(i, 'say');
    const me = this.#registered(i);
    await this.#work(i, async () => {
      const sent = await this.#deps.engine.sendToCollective(me.id, name, text, eventOf(i));
      return texts.said(sent.collective, sent.recipients);
    });
  }

  async #leave(i: Interaction): Promise<void> {
    const name = this.#collective(i, 'leave');
    const me = this.#registered(i);
    await this.#work(i, async () => {
      await this.#deps.engine.leave(me.id, name, eventOf(i));
      // The channels they linked carried the collective on their membership: no longer.
      const ended = await this.#deps.surface.endLinksOf(me.id, name);
      return texts.left(name, ended);
    });
  }

  async #collectives(i: Interaction): Promise<void> {
    const me = this.#registered(i);
    const names = this.#deps.engine.collectives(me.id);
    await this.#answer(i, names.length === 0 ? texts.collectivesNone : texts.collectives(names));
  }

  // ---- links ---------------------------------------------------------------------------------

  /** Only in a server channel, and only for those who may manage it (checked again here). */
  #mustManage(i: Interaction): { guildId: string } {
    if (!i.inGuild() || i.channel === null) throw new Answer(texts.notHere);
    if (!i.memberPermissions.has(PermissionFlagsBits.ManageChannels)) {
      throw new Answer(texts.linkNeedsManager);
    }
    return { guildId: i.guildId };
  }

  async #link(i: Interaction): Promise<void> {
    const { guildId } = this.#mustManage(i);
    const given = i.options.getString('collective', true);
    const parsed = parseName(given);
    if (!parsed.ok) throw new Answer(`${errorMessage(parsed.error)}\n${texts.usage.link}`);
    const name = parsed.value;
    const me = this.#registered(i);
    await this.#work(i, async () => {
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

  async #unlink(i: Interaction): Promise<void> {
    this.#mustManage(i);
    const link = this.#deps.store.unlink(i.channelId);
    if (link === undefined) throw new Answer(texts.notLinked);
    this.#deps.logger.info('discord.unlinked', {});
    await this.#work(i, async () => {
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
        code: error instanceof KomradeError ? error.code : 'INTERNAL',
      });
    }
  }
}
