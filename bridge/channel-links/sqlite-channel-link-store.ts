/**
 * `SqliteChannelLinkStore`: the channel links in their own SQLite file (see
 * {@link openPrivateDatabase}). Channel ids, server ids, collective names and webhook tokens are
 * sealed under the vault key or replaced by an HMAC under the lookup key, so the file alone does
 * not say which channels carry which collective.
 */
import { createHmac } from 'node:crypto';
import type Database from 'better-sqlite3';
import { aeadDecrypt, aeadEncrypt } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { decodeCanonical, encodeCanonical } from '../../common/wire/index.js';
import { openPrivateDatabase } from '../../client/index.js';
import type {
  ChannelLink,
  ChannelLinkStore,
  ShownMessage,
  StoredWebhook,
} from './channel-link-store.js';

/** Keys the store is opened with (derived from the adapter's master key). */
export interface SqliteChannelLinkStoreKeys {
  /** Seals links and webhooks. */
  readonly vaultKey: Uint8Array;
  /** Keys the HMACs that find a channel, a collective's channels and a shown message. */
  readonly lookupKey: Uint8Array;
}

/** Shown-message records are kept this long: longer than the Operator keeps undelivered mail. */
const SHOWN_KEPT_MS = 30 * 86_400_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS links (
  channel BLOB PRIMARY KEY,
  collective BLOB NOT NULL,
  sealed BLOB NOT NULL,
  cursor TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS links_collective ON links (collective);
CREATE TABLE IF NOT EXISTS webhooks (
  channel BLOB PRIMARY KEY,
  sealed BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS shown (
  key BLOB PRIMARY KEY,
  ref TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS shown_at ON shown (at);
`;

// The Discord adapter made the first of these files: its domain names stay, or they would not open.
const HMAC_DOMAIN = 'komrade/discord';
const LINK_TAG = 'komrade/discord-link/v1';
const WEBHOOK_TAG = 'komrade/discord-webhook/v1';

interface LinkRow {
  channel: Uint8Array;
  sealed: Uint8Array;
  cursor: string;
}

/** Larger of two ids that grow with time (Discord snowflakes). */
const later = (a: string, b: string) => (BigInt(a) >= BigInt(b) ? a : b);

/** Implements {@link ChannelLinkStore} on better-sqlite3. */
export class SqliteChannelLinkStore implements ChannelLinkStore {
  readonly #db: Database.Database;
  readonly #vaultKey: Uint8Array;
  readonly #lookupKey: Uint8Array;
  readonly #now: () => number;

  /**
   * @param path - the SQLite file (created mode 0600)
   * @throws `CONFIG_INVALID` for keys that are not 32 bytes
   */
  constructor(path: string, keys: SqliteChannelLinkStoreKeys, now: () => number = Date.now) {
    if (keys.vaultKey.length !== 32 || keys.lookupKey.length !== 32) {
      throw new KomradeError('CONFIG_INVALID', 'The channel link store keys must be 32 bytes.');
    }
    this.#vaultKey = Uint8Array.from(keys.vaultKey);
    this.#lookupKey = Uint8Array.from(keys.lookupKey);
    this.#now = now;
    this.#db = openPrivateDatabase(path);
    this.#db.exec(SCHEMA);
    this.#db.prepare('DELETE FROM shown WHERE at < ?').run(this.#now() - SHOWN_KEPT_MS);
  }

  /** A keyed hash: equal inputs match, and nobody without the master key can tell what they are. */
  #hmac(domain: string, ...parts: readonly string[]): Buffer {
    // Length-prefixed parts, so no two different tuples hash alike.
    const hmac = createHmac('sha256', this.#lookupKey).update(`${HMAC_DOMAIN}/${domain}\0`);
    for (const part of parts) hmac.update(`${Buffer.byteLength(part)}:${part}`);
    return hmac.digest();
  }

  #seal(tag: string, channel: Uint8Array, value: Record<string, string>): Uint8Array {
    return aeadEncrypt(
      encodeCanonical(value),
      this.#vaultKey,
      encodeCanonical([tag, new Uint8Array(channel)]),
    );
  }

  #unseal(tag: string, channel: Uint8Array, sealed: Uint8Array): Record<string, unknown> {
    const plain = aeadDecrypt(
      new Uint8Array(sealed),
      this.#vaultKey,
      encodeCanonical([tag, new Uint8Array(channel)]),
    );
    if (plain === undefined) {
      throw new KomradeError(
        'WRONG_PASSPHRASE',
        'The channel link store cannot be opened: wrong master key, or the file was altered.',
      );
    }
    return decodeCanonical(plain, 'channel link store') as Record<string, unknown>;
  }

  #toLink(row: LinkRow): ChannelLink {
    const { channelId, guildId, collective, linkedBy } = this.#unseal(
      LINK_TAG,
      row.channel,
      row.sealed,
    );
    if (
      typeof channelId !== 'string' ||
      typeof guildId !== 'string' ||
      typeof collective !== 'string' ||
      typeof linkedBy !== 'string'
    ) {
      throw new KomradeError('KEYSTORE_CORRUPT', 'A channel link in the store is damaged.');
    }
    return { channelId, guildId, collective, linkedBy, cursor: row.cursor };
  }

  // ---- links ---------------------------------------------------------------------------------

  link(link: ChannelLink): string | undefined {
    const existing = this.linkOf(link.channelId);
    if (existing !== undefined) return existing.collective;
    const channel = this.#hmac('channel', link.channelId);
    this.#db
      .prepare(
        'INSERT INTO links (channel, collective, sealed, cursor, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(
        channel,
        this.#hmac('collective', link.collective),
        this.#seal(LINK_TAG, channel, {
          channelId: link.channelId,
          guildId: link.guildId,
          collective: link.collective,
          linkedBy: link.linkedBy,
        }),
        link.cursor,
        this.#now(),
      );
    return undefined;
  }

  unlink(channelId: string): ChannelLink | undefined {
    const link = this.linkOf(channelId);
    if (link !== undefined) {
      this.#db.prepare('DELETE FROM links WHERE channel = ?').run(this.#hmac('channel', channelId));
    }
    return link;
  }

  linkOf(channelId: string): ChannelLink | undefined {
    const row = this.#db
      .prepare('SELECT channel, sealed, cursor FROM links WHERE channel = ?')
      .get(this.#hmac('channel', channelId)) as LinkRow | undefined;
    return row === undefined ? undefined : this.#toLink(row);
  }

  linksOf(collective: string): ChannelLink[] {
    const rows = this.#db
      .prepare('SELECT channel, sealed, cursor FROM links WHERE collective = ? ORDER BY created_at')
      .all(this.#hmac('collective', collective)) as LinkRow[];
    return rows.map((row) => this.#toLink(row));
  }

  links(): ChannelLink[] {
    const rows = this.#db
      .prepare('SELECT channel, sealed, cursor FROM links ORDER BY created_at')
      .all() as LinkRow[];
    return rows.map((row) => this.#toLink(row));
  }

  advanceCursor(channelId: string, messageId: string): void {
    const channel = this.#hmac('channel', channelId);
    const row = this.#db.prepare('SELECT cursor FROM links WHERE channel = ?').get(channel) as
      { cursor: string } | undefined;
    if (row === undefined) return;
    this.#db
      .prepare('UPDATE links SET cursor = ? WHERE channel = ?')
      .run(later(row.cursor, messageId), channel);
  }

  // ---- webhooks ------------------------------------------------------------------------------

  webhookOf(channelId: string): StoredWebhook | undefined {
    const channel = this.#hmac('channel', channelId);
    const row = this.#db.prepare('SELECT sealed FROM webhooks WHERE channel = ?').get(channel) as
      { sealed: Uint8Array } | undefined;
    if (row === undefined) return undefined;
    const { id, token } = this.#unseal(WEBHOOK_TAG, channel, row.sealed);
    if (typeof id !== 'string' || typeof token !== 'string') {
      throw new KomradeError('KEYSTORE_CORRUPT', 'A webhook in the channel link store is damaged.');
    }
    return { id, token };
  }

  saveWebhook(channelId: string, webhook: StoredWebhook): void {
    const channel = this.#hmac('channel', channelId);
    this.#db
      .prepare('INSERT OR REPLACE INTO webhooks (channel, sealed) VALUES (?, ?)')
      .run(channel, this.#seal(WEBHOOK_TAG, channel, { id: webhook.id, token: webhook.token }));
  }

  forgetWebhook(channelId: string): void {
    this.#db
      .prepare('DELETE FROM webhooks WHERE channel = ?')
      .run(this.#hmac('channel', channelId));
  }

  // ---- what each channel shows ---------------------------------------------------------------

  shownIn(shown: ShownMessage): string | undefined {
    const row = this.#db
      .prepare('SELECT ref FROM shown WHERE key = ?')
      .get(this.#shownKey(shown)) as { ref: string } | undefined;
    return row?.ref;
  }

  /** Records that `ref` shows a collective message in a channel (kept {@link SHOWN_KEPT_MS}). */
  recordShown(shown: ShownMessage, ref: string): void {
    this.#db
      .prepare('INSERT OR IGNORE INTO shown (key, ref, at) VALUES (?, ?, ?)')
      .run(this.#shownKey(shown), ref, this.#now());
  }

  #shownKey({ collective, sender, messageId, channelId }: ShownMessage): Buffer {
    return this.#hmac('shown', collective, sender, messageId, channelId);
  }

  close(): void {
    this.#db.close();
  }
}
