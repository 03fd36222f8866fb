/**
 * The channel link store (contract, run against SqliteChannelLinkStore): links with their cursors,
 * webhooks, and "shown" records, durable across a reopen, and nothing identifying in the clear.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SqliteChannelLinkStore,
  deriveBridgeKeys,
  type BridgeKeys,
  type ChannelLink,
  type ChannelLinkStore,
  type ShownMessage,
} from '../../bridge/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';

const DAY_MS = 86_400_000;

let dir: string;
let path: string;
let keys: BridgeKeys;
let clock: number;
let store: ChannelLinkStore;
const opened: ChannelLinkStore[] = [];

/** Opens the store file (again) at the test's clock. */
const open = (openKeys: BridgeKeys = keys): ChannelLinkStore => {
  const next = new SqliteChannelLinkStore(path, openKeys, () => clock);
  opened.push(next);
  return next;
};

/** Closes `store` and opens the same file again. */
const reopen = (): ChannelLinkStore => {
  store.close();
  opened.splice(opened.indexOf(store), 1);
  store = open();
  return store;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-channel-links-'));
  path = join(dir, 'discord.db');
  keys = deriveBridgeKeys(Buffer.from(randomBytes(32)).toString('hex'));
  clock = 1_700_000_000_000;
  store = open();
});
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

const link = (channelId: string, collective: string, cursor = '1000'): ChannelLink => ({
  channelId,
  guildId: '900000000000000001',
  collective,
  linkedBy: 'identity-of-ana',
  cursor,
});

const shown = (channelId: string, messageId = 'msg-1'): ShownMessage => ({
  collective: 'portland',
  sender: 'ana',
  messageId,
  channelId,
});

describe('channel link store', () => {
  it('links a channel once, finds it by channel and by collective, and unlinks it', () => {
    expect(store.link(link('100000000000000001', 'portland'))).toBeUndefined();
    clock += 1;
    expect(store.link(link('100000000000000002', 'portland'))).toBeUndefined();
    clock += 1;
    expect(store.link(link('100000000000000003', 'seattle'))).toBeUndefined();

    // A channel carries one collective: a second link answers with the one it has.
    expect(store.link(link('100000000000000001', 'seattle'))).toBe('portland');
    expect(store.linkOf('100000000000000001')).toEqual(link('100000000000000001', 'portland'));
    expect(store.linksOf('portland').map((l) => l.channelId)).toEqual([
      '100000000000000001',
      '100000000000000002',
    ]);
    expect(store.links().map((l) => l.collective)).toEqual(['portland', 'portland', 'seattle']);
    expect(store.linksOf('nowhere')).toEqual([]);

    expect(store.unlink('100000000000000001')).toEqual(link('100000000000000001', 'portland'));
    expect(store.linkOf('100000000000000001')).toBeUndefined();
    expect(store.unlink('100000000000000001')).toBeUndefined();
    expect(store.linksOf('portland').map((l) => l.channelId)).toEqual(['100000000000000002']);
    // Unlinked, the channel may carry another collective.
    expect(store.link(link('100000000000000001', 'seattle'))).toBeUndefined();
  });

  it('moves a cursor forward only, comparing ids as numbers', () => {
    store.link(link('100000000000000001', 'portland', '99'));
    store.advanceCursor('100000000000000001', '100');
    expect(store.linkOf('100000000000000001')?.cursor).toBe('100');
    // '99' sorts after '100' as text: a string comparison would move the cursor back.
    store.advanceCursor('100000000000000001', '99');
    expect(store.linkOf('100000000000000001')?.cursor).toBe('100');
    store.advanceCursor('100000000000000001', '1234567890123456789');
    expect(store.linkOf('100000000000000001')?.cursor).toBe('1234567890123456789');
    // An unlinked channel has no cursor to move.
    store.advanceCursor('100000000000000009', '5');
    expect(store.linkOf('100000000000000009')).toBeUndefined();
  });

  it('keeps one webhook per channel, replaced or forgotten', () => {
    expect(store.webhookOf('100000000000000001')).toBeUndefined();
    store.saveWebhook('100000000000000001', { id: 'w1', token: 'token-one' });
    store.saveWebhook('100000000000000002', { id: 'w2', token: 'token-two' });
    expect(store.webhookOf('100000000000000001')).toEqual({ id: 'w1', token: 'token-one' });
    store.saveWebhook('100000000000000001', { id: 'w3', token: 'token-three' });
    expect(store.webhookOf('100000000000000001')).toEqual({ id: 'w3', token: 'token-three' });
    store.forgetWebhook('100000000000000001');
    expect(store.webhookOf('100000000000000001')).toBeUndefined();
    expect(store.webhookOf('100000000000000002')).toEqual({ id: 'w2', token: 'token-two' });
  });

  it('records what shows a message in a channel once: the first record stays', () => {
    expect(store.shownIn(shown('100000000000000001'))).toBeUndefined();
    store.recordShown(shown('100000000000000001'), 'discord-msg-1');
    store.recordShown(shown('100000000000000001'), 'discord-msg-2');
    expect(store.shownIn(shown('100000000000000001'))).toBe('discord-msg-1');
    // Another channel, another message, another sender: each its own record.
    expect(store.shownIn(shown('100000000000000002'))).toBeUndefined();
    expect(store.shownIn(shown('100000000000000001', 'msg-2'))).toBeUndefined();
    expect(store.shownIn({ ...shown('100000000000000001'), sender: 'ben' })).toBeUndefined();
    // Parts are length-prefixed: moving a character between them is another record.
    store.recordShown({ ...shown('1'), collective: 'ab', sender: 'c' }, 'r');
    expect(store.shownIn({ ...shown('1'), collective: 'a', sender: 'bc' })).toBeUndefined();
  });

  it('keeps links, cursors, webhooks and records across a reopen', () => {
    store.link(link('100000000000000001', 'portland', '500'));
    store.advanceCursor('100000000000000001', '600');
    store.saveWebhook('100000000000000001', { id: 'w1', token: 'token-one' });
    store.recordShown(shown('100000000000000001'), 'discord-msg-1');

    reopen();
    expect(store.linkOf('100000000000000001')).toEqual(
      link('100000000000000001', 'portland', '600'),
    );
    expect(store.linksOf('portland')).toHaveLength(1);
    expect(store.webhookOf('100000000000000001')).toEqual({ id: 'w1', token: 'token-one' });
    expect(store.shownIn(shown('100000000000000001'))).toBe('discord-msg-1');
  });

  it('drops "shown" records after 30 days, when opened', () => {
    store.recordShown(shown('100000000000000001'), 'old');
    clock += 29 * DAY_MS;
    store.recordShown(shown('100000000000000002'), 'recent');
    clock += 2 * DAY_MS;
    reopen();
    expect(store.shownIn(shown('100000000000000001'))).toBeUndefined();
    expect(store.shownIn(shown('100000000000000002'))).toBe('recent');
  });

  it('stores no channel, server, collective, webhook token or message id in the clear', () => {
    const secret = {
      channel: '123456789012345678',
      guild: '876543210987654321',
      collective: 'clandestine-kitchen',
      token: `wh-token-${Buffer.from(randomBytes(24)).toString('base64url')}`,
      messageId: 'collective-message-id-xyz',
      linkedBy: 'identity-of-the-linker',
    };
    store.link({
      channelId: secret.channel,
      guildId: secret.guild,
      collective: secret.collective,
      linkedBy: secret.linkedBy,
      cursor: '1',
    });
    store.saveWebhook(secret.channel, { id: '555555555555555555', token: secret.token });
    store.recordShown(
      {
        collective: secret.collective,
        sender: 'ana',
        messageId: secret.messageId,
        channelId: secret.channel,
      },
      'ref',
    );
    const files = () =>
      readdirSync(dir)
        .filter((name) => name.startsWith('discord.db'))
        .map((name) => readFileSync(join(dir, name)));
    // Before closing (the rows may sit in the WAL) and after (checkpointed into the file).
    for (const stage of ['open', 'closed']) {
      if (stage === 'closed') {
        store.close();
        opened.splice(opened.indexOf(store), 1);
      }
      const bytes = files();
      expect(bytes.length).toBeGreaterThan(0);
      for (const value of [...Object.values(secret), '555555555555555555']) {
        for (const file of bytes) expect(file.includes(value), `${value} (${stage})`).toBe(false);
      }
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a wrong master key, and keys that are not 32 bytes', () => {
    store.link(link('100000000000000001', 'portland'));
    store.saveWebhook('100000000000000001', { id: 'w1', token: 'token-one' });
    const other = open(deriveBridgeKeys(Buffer.from(randomBytes(32)).toString('hex')));
    // Found by HMAC under another key: the channel is simply not there.
    expect(other.linkOf('100000000000000001')).toBeUndefined();
    expect(() => other.links()).toThrow(expect.objectContaining({ code: 'WRONG_PASSPHRASE' }));

    let error: unknown;
    try {
      new SqliteChannelLinkStore(join(dir, 'other.db'), { ...keys, vaultKey: randomBytes(16) });
    } catch (caught) {
      error = caught;
    }
    expect(isKomradeError(error, 'CONFIG_INVALID')).toBe(true);
  });
});
