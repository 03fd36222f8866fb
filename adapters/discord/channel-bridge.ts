/**
 * `ChannelBridge`: what members write in a linked channel goes to the collective, as their own
 * message, through the engine's durable outbox. Anyone else is told privately why nothing was
 * bridged. Each linked channel is handled in order, one message at a time, and keeps a cursor (the
 * last message handled): on startup the bridge reads what was written while it was away, since
 * Discord does not replay a channel's messages to a new gateway session.
 */
import { DiscordAPIError, type Client, type Message } from 'discord.js';
import type { BridgeEngine, ChannelLink, ChannelLinkStore } from '../../bridge/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { DiscordSurface } from './discord-surface.js';
import { userKey } from './replies.js';
import { errorMessage, texts } from './texts.js';

/** What the bridge is built from. */
export interface ChannelBridgeDeps {
  readonly client: Client;
  readonly engine: BridgeEngine;
  readonly store: ChannelLinkStore;
  readonly surface: DiscordSurface;
  readonly logger: Logger;
}

/** A channel reply standing in for a direct message is deleted after this long. */
const FALLBACK_VISIBLE_MS = 60_000;
/** Messages read per page while catching up (Discord's maximum). */
const PAGE = 100;

const byId = (a: Message, b: Message) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1);

/** Bridges linked channels. */
export class ChannelBridge {
  readonly #deps: ChannelBridgeDeps;
  /** Per channel, the work queued so far: messages are handled in the order they were written. */
  readonly #chains = new Map<string, Promise<void>>();
  readonly #fallbacks = new Set<{ timer: NodeJS.Timeout; remove: () => Promise<unknown> }>();
  #stopping = false;

  constructor(deps: ChannelBridgeDeps) {
    this.#deps = deps;
  }

  /** A message seen live on the gateway. */
  onMessage(message: Message): void {
    // Once stopping, the cursor stays put: the next start reads these messages from the channel.
    if (this.#stopping || !message.inGuild()) return;
    if (this.#deps.store.linkOf(message.channelId) === undefined) return;
    this.#enqueue(message.channelId, () => this.#handle(message));
  }

  /**
   * Reads every linked channel from its cursor, once `ready` (connected to Discord): what members
   * wrote while the bridge was away. Call it before any live message can arrive, so each channel
   * is read in order.
   */
  catchUp(ready: Promise<void>): void {
    for (const link of this.#deps.store.links()) {
      this.#enqueue(link.channelId, async () => {
        await ready;
        await this.#catchUpChannel(link.channelId);
      });
    }
  }

  /** Stops taking messages, and waits for those being handled. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#chains.values());
    for (const fallback of this.#fallbacks) {
      clearTimeout(fallback.timer);
      await fallback.remove().catch(() => undefined);
    }
    this.#fallbacks.clear();
  }

  /** A method, not the field: it changes while a channel's work awaits. */
  #isStopping(): boolean {
    return this.#stopping;
  }

  #enqueue(channelId: string, work: () => Promise<void>): void {
    const previous = this.#chains.get(channelId) ?? Promise.resolve();
    const next = previous.then(work).catch((error: unknown) => {
      this.#deps.logger.warn('discord.channel_failed', {
        code: isKomradeError(error) ? error.code : 'INTERNAL',
      });
    });
    this.#chains.set(channelId, next);
    void next.finally(() => {
      if (this.#chains.get(channelId) === next) this.#chains.delete(channelId);
    });
  }

  async #catchUpChannel(channelId: string): Promise<void> {
    const channel = await this.#deps.client.channels.fetch(channelId).catch(() => null);
    if (channel === null || !channel.isTextBased() || channel.isDMBased()) return;
    for (;;) {
      const link = this.#deps.store.linkOf(channelId);
      if (link === undefined || this.#isStopping()) return;
      const page = await channel.messages.fetch({ after: link.cursor, limit: PAGE, cache: false });
      const messages = [...page.values()].sort(byId);
      for (const message of messages) {
        if (this.#isStopping()) return;
        await this.#handle(message);
      }
      if (messages.length < PAGE) return;
    }
  }

  async #handle(message: Message): Promise<void> {
    const { store } = this.#deps;
    const link = store.linkOf(message.channelId);
    if (link === undefined || BigInt(message.id) <= BigInt(link.cursor)) return;
    // The bot's own messages and its webhooks' (the puppets) are never bridged back.
    const ours = message.author.bot || message.webhookId !== null || message.system;
    if (!ours) await this.#bridge(link, message);
    store.advanceCursor(message.channelId, message.id);
  }

  async #bridge(link: ChannelLink, message: Message): Promise<void> {
    const { engine, store, logger } = this.#deps;
    const identity = engine.identityOf(userKey(message.author.id));
    if (identity?.name == null) {
      await this.#explain(message, texts.notBridgedNoIdentity(link.collective));
      return;
    }
    // Mentions become readable names: a Discord id means nothing to the other members.
    const text = message.cleanContent;
    if (text.trim().length === 0) {
      await this.#explain(message, texts.notBridgedEmpty(link.collective));
      return;
    }
    try {
      // Keyed by the Discord message: read again from the cursor after a crash, it is sent once.
      const sent = await engine.sendToCollective(identity.id, link.collective, text, {
        event: `discord-msg:${message.id}`,
      });
      // Recorded before any other member's delivery can run (no I/O in between): this channel
      // already shows the message, so no puppet repeats it here.
      store.recordShown(
        {
          collective: link.collective,
          sender: identity.name,
          messageId: sent.id,
          channelId: link.channelId,
        },
        message.id,
      );
      logger.debug('discord.bridged', { recipients: sent.recipients });
    } catch (error) {
      if (isKomradeError(error, 'NOT_MEMBER')) {
        await this.#explain(message, texts.notBridgedNotMember(link.collective));
        return;
      }
      logger.warn('discord.bridge_failed', {
        code: isKomradeError(error) ? error.code : 'INTERNAL',
      });
      await this.#explain(message, texts.notBridgedFailed(link.collective, errorMessage(error)));
    }
  }

  /**
   * Tells the author alone why their message was not bridged: a direct message. Discord has no
   * ephemeral reply to a plain message, so when the author does not accept direct messages from
   * the bot, a reply that mentions them stands in, and is deleted after a minute.
   */
  async #explain(message: Message, text: string): Promise<void> {
    try {
      await this.#deps.surface.dm(message.author.id, text);
      return;
    } catch (error) {
      const code = error instanceof DiscordAPIError ? String(error.code) : 'INTERNAL';
      this.#deps.logger.info('discord.dm_refused', { code });
    }
    if (this.#stopping || !message.channel.isSendable()) return;
    try {
      const reply = await message.reply({
        content: `<@${message.author.id}> ${text}\n-# (deleted in a minute)`,
        allowedMentions: { users: [message.author.id], repliedUser: true },
      });
      const fallback = {
        timer: setTimeout(() => {
          this.#fallbacks.delete(fallback);
          void fallback.remove().catch(() => undefined);
        }, FALLBACK_VISIBLE_MS),
        remove: () => reply.delete(),
      };
      this.#fallbacks.add(fallback);
    } catch {
      // Neither a DM nor a reply: nothing more can be said, and nothing was bridged.
    }
  }
}
