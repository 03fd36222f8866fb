/**
 * `DiscordSurface`: the engine's `ChatSurface` on Discord. A collective message is shown once in
 * each channel linked to its collective, by a puppet (the channel's webhook, under the sender's
 * Komrade name and trust label), however many of its members this bot holds: a persistent record
 * per collective, sender, message id and channel makes every later delivery of the same message a
 * no-op, and a message a member wrote in a linked channel counts as already shown there. Members
 * who can read none of those channels get it, like letters and notices, in a direct message.
 * `chat` is the Discord user id.
 */
import { DiscordAPIError, PermissionFlagsBits, type Client } from 'discord.js';
import {
  collectiveMessageDisplay,
  letterDisplay,
  noticeText,
  render,
  type ChannelLink,
  type ChannelLinkStore,
  type ChatNotice,
  type ChatSurface,
  type CollectiveMessageForChat,
  type LetterForChat,
} from '../../bridge/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { PuppetPoster } from './puppets.js';
import { discordSurface, splitForDiscord } from './discord-surface-kit.js';
import { puppetName, texts } from './texts.js';

/** What the surface is built from. */
export interface DiscordSurfaceDeps {
  readonly client: Client;
  readonly store: ChannelLinkStore;
  readonly puppets: PuppetPoster;
  readonly logger: Logger;
  /**
   * Whether an identity held here is a member of a collective now. A link lasts only while whoever
   * made it is a member: an expelled member's channel must not go on receiving the collective.
   * @throws only what may pass (the Operator unreachable)
   */
  readonly isMember: (identity: string, collective: string) => Promise<boolean>;
}

/**
 * How long a link maker's membership is trusted (each check syncs the collective's log). A removal
 * voted elsewhere stops a channel's posts at most this late; one seen here, at once.
 */
const LINK_CHECK_MS = 30_000;
const ACCESS_CHECK_MS = 5 * 60_000;
const UNKNOWN_MEMBER = 10007;
/** Unknown Channel, Unknown Guild. */
const GONE = new Set([10003, 10004]);
const NO_MENTIONS = { parse: [] } as const;

/**
 * The nonce of one part of a delivery's message: at most 25 characters, as Discord requires. A
 * delivery id is 22 base64url characters; the part number keeps the parts of one message apart.
 */
export const deliveryNonce = (delivery: string, part: number): string =>
  `${String(part).padStart(3, '0')}${delivery}`.slice(0, 25);

/** Shows letters, collective messages and notices on Discord. */
export class DiscordSurface implements ChatSurface {
  readonly #deps: DiscordSurfaceDeps;
  /** Posts in progress, so two deliveries of one message at once post it once. */
  readonly #showing = new Map<string, Promise<string | undefined>>();
  readonly #linkChecks = new Map<string, { holds: boolean; at: number }>();
  readonly #access = new Map<string, { reads: boolean; at: number }>();

  constructor(deps: DiscordSurfaceDeps) {
    this.#deps = deps;
  }

  async deliverLetter(chat: string, letter: LetterForChat, delivery?: string): Promise<string> {
    // Discord has no /send: a letter is read here, and answered elsewhere.
    return this.dm(chat, render(letterDisplay(letter, false), discordSurface), delivery);
  }

  async deliverCollectiveMessage(
    chat: string,
    message: CollectiveMessageForChat,
    delivery?: string,
  ): Promise<string> {
    const carrying: ChannelLink[] = [];
    let ref: string | undefined;
    for (const link of this.#deps.store.linksOf(message.collective)) {
      const shown = await this.#showOnce(link, message);
      if (shown === undefined) continue;
      ref ??= shown;
      carrying.push(link);
    }
    if (await this.#readsAny(chat, carrying)) return ref ?? '';
    return this.dm(chat, render(collectiveMessageDisplay(message), discordSurface), delivery);
  }

  async notify(chat: string, notice: ChatNotice): Promise<void> {
    if (notice.kind === 'collective-enacted' && notice.change.action === 'remove') {
      // Someone was removed: check every link's maker again before the next post.
      for (const key of this.#linkChecks.keys()) {
        if (key.endsWith(`\0${notice.collective}`)) this.#linkChecks.delete(key);
      }
    }
    await this.dm(chat, render(noticeText(notice, discordSurface), discordSurface));
  }

  /**
   * Writes to a user in a direct message.
   * @param delivery - the engine's id of a delivery: each part is sent with a nonce derived from
   * it and `enforce_nonce`, so Discord drops a part sent again after a crash (within the minutes
   * it remembers nonces) and answers with the message it already made
   * @returns the id of the first message
   * @throws `DiscordAPIError` 50007 when the user does not accept direct messages from the bot
   */
  async dm(userId: string, text: string, delivery?: string): Promise<string> {
    const channel = await this.#deps.client.users.createDM(userId);
    let first: string | undefined;
    for (const [part, chunk] of splitForDiscord(text).entries()) {
      const sent = await channel.send({
        content: chunk,
        allowedMentions: NO_MENTIONS,
        ...(delivery === undefined
          ? {}
          : { nonce: deliveryNonce(delivery, part), enforceNonce: true }),
      });
      first ??= sent.id;
    }
    return first ?? '';
  }

  /**
   * Shows a collective message in a linked channel unless something already does.
   * @returns the Discord message showing it, or `undefined` when the link no longer holds
   */
  #showOnce(link: ChannelLink, message: CollectiveMessageForChat): Promise<string | undefined> {
    const key = [message.collective, message.from, message.id, link.channelId].join('\0');
    let showing = this.#showing.get(key);
    if (showing === undefined) {
      showing = this.#show(link, message).finally(() => this.#showing.delete(key));
      this.#showing.set(key, showing);
    }
    return showing;
  }

  async #show(link: ChannelLink, message: CollectiveMessageForChat): Promise<string | undefined> {
    const { store, puppets } = this.#deps;
    const shown = {
      collective: message.collective,
      sender: message.from,
      messageId: message.id,
      channelId: link.channelId,
    };
    const done = store.shownIn(shown);
    if (done !== undefined) return done;
    if (!(await this.#linkHolds(link))) return undefined;
    let ref: string;
    try {
      ref = await puppets.post(
        link.channelId,
        puppetName(message.from, message.senderKeyHolder),
        message.text,
      );
    } catch (error) {
      // The channel (or its server) is gone: no retry can post there, so the link ends.
      if (error instanceof DiscordAPIError && GONE.has(Number(error.code))) {
        this.#deps.store.unlink(link.channelId);
        this.#deps.store.forgetWebhook(link.channelId);
        this.#deps.logger.info('discord.link_gone', { code: String(error.code) });
        return undefined;
      }
      throw error;
    }
    // Recorded before the engine acknowledges the message at the Operator: shown once, for good.
    store.recordShown(shown, ref);
    this.#deps.logger.debug('discord.puppet_posted', {});
    return ref;
  }

  /** Whether whoever linked the channel is still a member; if not, the link ends here. */
  async #linkHolds(link: ChannelLink): Promise<boolean> {
    const key = `${link.linkedBy}\0${link.collective}`;
    const cached = this.#linkChecks.get(key);
    if (cached !== undefined && Date.now() - cached.at < LINK_CHECK_MS) return cached.holds;
    const holds = await this.#deps.isMember(link.linkedBy, link.collective);
    this.#linkChecks.set(key, { holds, at: Date.now() });
    if (!holds) await this.#endLink(link);
    return holds;
  }

  /**
   * Ends the links `identity` made to `collective` (it just left it through this bot).
   * @returns how many channels no longer carry it
   */
  async endLinksOf(identity: string, collective: string): Promise<number> {
    this.#linkChecks.delete(`${identity}\0${collective}`);
    const links = this.#deps.store.linksOf(collective).filter((l) => l.linkedBy === identity);
    for (const link of links) await this.#endLink(link);
    return links.length;
  }

  async #endLink(link: ChannelLink): Promise<void> {
    // Checked again after any await: only one delivery ends the link and says so.
    if (this.#deps.store.linkOf(link.channelId)?.collective !== link.collective) return;
    this.#deps.store.unlink(link.channelId);
    this.#deps.logger.info('discord.link_lapsed', {});
    await this.#deps.puppets.forget(link.channelId);
    try {
      const channel = await this.#deps.client.channels.fetch(link.channelId);
      if (channel?.isSendable() === true) {
        await channel.send({
          content: texts.linkLapsed(link.collective),
          allowedMentions: NO_MENTIONS,
        });
      }
    } catch {
      // The link is gone either way; saying so in the channel is a courtesy.
    }
  }

  /** Whether a user can read at least one of `links`' channels. */
  async #readsAny(userId: string, links: readonly ChannelLink[]): Promise<boolean> {
    for (const link of links) {
      const key = `${userId}\0${link.channelId}`;
      let checked = this.#access.get(key);
      if (checked === undefined || Date.now() - checked.at >= ACCESS_CHECK_MS) {
        checked = { reads: await this.#reads(userId, link.channelId), at: Date.now() };
        this.#access.set(key, checked);
      }
      if (checked.reads) return true;
    }
    return false;
  }

  async #reads(userId: string, channelId: string): Promise<boolean> {
    const channel = await this.#deps.client.channels.fetch(channelId).catch(() => null);
    if (channel === null || channel.isDMBased() || !('guild' in channel)) return false;
    try {
      const member = await channel.guild.members.fetch(userId);
      return channel.permissionsFor(member).has(PermissionFlagsBits.ViewChannel);
    } catch (error) {
      if (error instanceof DiscordAPIError && error.code === UNKNOWN_MEMBER) return false;
      throw error;
    }
  }
}
