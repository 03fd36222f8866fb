/**
 * `PuppetPoster`: posts a collective message in a Discord channel under its sender's Komrade name,
 * through one webhook per channel that the bot creates once (or finds again) and keeps sealed in
 * the channel link store. Where a webhook is impossible (no Manage Webhooks permission, or the
 * channel already has Discord's 10), it posts under the bot's own name with the sender in bold.
 * Pacing is discord.js's own: its REST queue waits out each bucket and retries 429s after
 * `retry_after`.
 */
import {
  DiscordAPIError,
  Routes,
  escapeMarkdown,
  type APIMessage,
  type Client,
  type Webhook,
} from 'discord.js';
import type { ChannelLinkStore, StoredWebhook } from '../../bridge/index.js';
import type { Logger } from '../../common/logging/index.js';
import { DISCORD_TEXT_LIMIT, splitForDiscord } from './discord-surface-kit.js';

/** The webhook's own name in the channel's integrations list. */
export const WEBHOOK_NAME = 'Komrade bridge';

/** After a channel refused a webhook, post under the bot's name this long before trying again. */
const NO_WEBHOOK_RETRY_MS = 10 * 60_000;

/** Discord error codes this module reacts to. */
const UNKNOWN_WEBHOOK = 10015;
const INVALID_WEBHOOK_TOKEN = 50027;
const MISSING_PERMISSIONS = 50013;
const MISSING_ACCESS = 50001;
const MAX_WEBHOOKS = 30007;

const discordCode = (error: unknown) => (error instanceof DiscordAPIError ? error.code : undefined);

/** Never ping anyone: texts come from other platforms and must not mention Discord users. */
const NO_MENTIONS = { parse: [] } as const;

/** Posts puppet messages. */
export class PuppetPoster {
  readonly #client: Client;
  readonly #store: ChannelLinkStore;
  readonly #logger: Logger;
  /** One webhook lookup or creation per channel at a time, so two posts never make two. */
  readonly #finding = new Map<string, Promise<StoredWebhook | undefined>>();
  readonly #refusedAt = new Map<string, number>();

  constructor(client: Client, store: ChannelLinkStore, logger: Logger) {
    this.#client = client;
    this.#store = store;
    this.#logger = logger;
  }

  /**
   * The channel's webhook: stored, found among the channel's webhooks the bot made, or created.
   * @returns `undefined` when the channel refuses one (the caller posts under the bot's name)
   * @throws what Discord throws for anything else (the caller retries later)
   */
  webhookFor(channelId: string): Promise<StoredWebhook | undefined> {
    const stored = this.#store.webhookOf(channelId);
    if (stored !== undefined) return Promise.resolve(stored);
    const refusedAt = this.#refusedAt.get(channelId);
    if (refusedAt !== undefined && Date.now() - refusedAt < NO_WEBHOOK_RETRY_MS) {
      return Promise.resolve(undefined);
    }
    let finding = this.#finding.get(channelId);
    if (finding === undefined) {
      finding = this.#findOrCreate(channelId).finally(() => this.#finding.delete(channelId));
      this.#finding.set(channelId, finding);
    }
    return finding;
  }

  async #findOrCreate(channelId: string): Promise<StoredWebhook | undefined> {
    const channel = await this.#client.channels.fetch(channelId);
    if (channel === null || !('fetchWebhooks' in channel)) return undefined;
    const me = this.#client.user?.id;
    let webhook: Webhook | undefined;
    try {
      // One the bot made before (e.g. before its data folder was lost): reuse it, never pile up.
      webhook = (await channel.fetchWebhooks()).find(
        (w) => w.token !== null && me !== undefined && w.owner?.id === me,
      );
      webhook ??= await channel.createWebhook({
        name: WEBHOOK_NAME,
        reason: 'Komrade: show collective messages under their senders’ names',
      });
    } catch (error) {
      const code = discordCode(error);
      if (code === MISSING_PERMISSIONS || code === MISSING_ACCESS || code === MAX_WEBHOOKS) {
        this.#logger.warn('discord.webhook_refused', { code: String(code) });
        this.#refusedAt.set(channelId, Date.now());
        return undefined;
      }
      throw error;
    }
    if (webhook.token === null) return undefined;
    const stored = { id: webhook.id, token: webhook.token };
    this.#store.saveWebhook(channelId, stored);
    this.#refusedAt.delete(channelId);
    this.#logger.info('discord.webhook_ready', {});
    return stored;
  }

  /**
   * Posts `text` in a channel under `username` (several messages if it is long).
   * @returns the id of the first message
   */
  async post(channelId: string, username: string, text: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const webhook = await this.webhookFor(channelId);
      if (webhook === undefined) return this.#postAsBot(channelId, username, text);
      try {
        return await this.#execute(webhook, username, text);
      } catch (error) {
        const code = discordCode(error);
        // Deleted by a server admin meanwhile: make a new one, once.
        if ((code === UNKNOWN_WEBHOOK || code === INVALID_WEBHOOK_TOKEN) && attempt === 0) {
          this.#store.forgetWebhook(channelId);
          continue;
        }
        throw error;
      }
    }
  }

  async #execute(webhook: StoredWebhook, username: string, text: string): Promise<string> {
    let first: string | undefined;
    for (const chunk of splitForDiscord(text)) {
      const sent = (await this.#client.rest.post(Routes.webhook(webhook.id, webhook.token), {
        body: { content: chunk, username, allowed_mentions: NO_MENTIONS },
        query: new URLSearchParams({ wait: 'true' }),
        auth: false,
      })) as APIMessage;
      first ??= sent.id;
    }
    return first ?? '';
  }

  async #postAsBot(channelId: string, username: string, text: string): Promise<string> {
    const channel = await this.#client.channels.fetch(channelId);
    if (channel === null || !channel.isSendable()) {
      throw new Error('CHANNEL_UNAVAILABLE');
    }
    const head = `**${escapeMarkdown(username)}**: `;
    let first: string | undefined;
    for (const chunk of splitForDiscord(text, DISCORD_TEXT_LIMIT - head.length)) {
      const sent = await channel.send({
        content: first === undefined ? head + chunk : chunk,
        allowedMentions: NO_MENTIONS,
      });
      first ??= sent.id;
    }
    return first ?? '';
  }

  /** Deletes the channel's webhook at Discord (best effort) and forgets it. */
  async forget(channelId: string): Promise<void> {
    const webhook = this.#store.webhookOf(channelId);
    this.#store.forgetWebhook(channelId);
    if (webhook === undefined) return;
    try {
      await this.#client.rest.delete(Routes.webhook(webhook.id, webhook.token), { auth: false });
    } catch (error) {
      this.#logger.info('discord.webhook_delete_failed', {
        code: String(discordCode(error) ?? 'INTERNAL'),
      });
    }
  }
}
