/**
 * The `ChannelLinkStore` port: what an adapter that carries collectives in group channels keeps
 * beside the bridge store: which channel is linked to which collective, the one webhook it posts
 * through in each channel, and which collective messages each channel already shows. The words
 * are Discord's (server, webhook, snowflake ids), the only platform with channel links so far.
 */

/** A channel linked to a collective. */
export interface ChannelLink {
  readonly channelId: string;
  /** The server (Discord guild) the channel belongs to. */
  readonly guildId: string;
  readonly collective: string;
  /** The identity (held here, a member) of whoever linked it; the link lasts while they are in. */
  readonly linkedBy: string;
  /** The newest message of the channel already handled (ids grow with time: compared as numbers). */
  readonly cursor: string;
}

/** A webhook's id and token (the token lets anyone post through it: never log it). */
export interface StoredWebhook {
  readonly id: string;
  readonly token: string;
}

/** A collective message in one channel: what a "shown" record is found by. */
export interface ShownMessage {
  readonly collective: string;
  readonly sender: string;
  /** The collective message's own id, chosen by its sender. */
  readonly messageId: string;
  readonly channelId: string;
}

/** The store. Durable when each call returns. */
export interface ChannelLinkStore {
  /**
   * Links a channel to a collective.
   * @returns `undefined` when linked, or the collective the channel is already linked to
   */
  link(link: ChannelLink): string | undefined;
  /** Removes a channel's link; returns what it was. */
  unlink(channelId: string): ChannelLink | undefined;
  linkOf(channelId: string): ChannelLink | undefined;
  /** The channels linked to a collective, oldest link first. */
  linksOf(collective: string): ChannelLink[];
  /** Every link, oldest first. */
  links(): ChannelLink[];
  /** Moves a channel's cursor forward to `messageId` (never back); nothing for an unlinked one. */
  advanceCursor(channelId: string, messageId: string): void;

  webhookOf(channelId: string): StoredWebhook | undefined;
  saveWebhook(channelId: string, webhook: StoredWebhook): void;
  forgetWebhook(channelId: string): void;

  /**
   * The platform message that shows a collective message in a channel, if one does: a puppet
   * post, or the member's own message when it was written there.
   */
  shownIn(shown: ShownMessage): string | undefined;
  /** Records that `ref` shows a collective message in a channel (the first record stays). */
  recordShown(shown: ShownMessage, ref: string): void;

  close(): void;
}
