/**
 * The bridge engine keeps the client core's promises (issue #9), with a real Redis and BullMQ and
 * an in-memory Operator: blank texts and letters to oneself are refused, an old follow letter
 * delivered again does not undo an unfollow (nor announce a follower twice), and a post reaches
 * the followers whose keys can be sealed to while one whose key cannot is reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type OutgoingLetter } from '../../client/index.js';
import {
  AeadEnvelopeCodec,
  BridgeEngine,
  SqliteBridgeStore,
  sqliteSessionFactory,
  type ChatNotice,
  type ChatSurface,
} from '../../bridge/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import type { Logger } from '../../common/logging/index.js';
import { sealLetter, signReceipt } from '../../common/wire/index.js';
import { FakeOperator } from '../support/fake-operator.js';
import { withOverrides } from '../support/operator-client-overrides.js';
import { startRedisServer, testPrefix, type RedisServer } from '../support/redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.cleanup();
});

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

let dir: string;
let connection: Redis;
let operator: FakeOperator;
let engine: BridgeEngine;
let bridgeStore: SqliteBridgeStore;
/** Every letter handed to the Operator, as sealed. */
let handedOver: OutgoingLetter[];
let notices: { chat: string; notice: ChatNotice }[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-engine-promises-'));
  connection = redis.connect();
  operator = new FakeOperator(() => Date.now());
  operator.powBits = 2;
  handedOver = [];
  notices = [];
  const surface: ChatSurface = {
    deliverLetter: () => Promise.resolve(`ref-${randomBytes(4).join('')}`),
    deliverCollectiveMessage: () => Promise.resolve(`ref-${randomBytes(4).join('')}`),
    notify: (chat, notice) => {
      notices.push({ chat, notice });
      return Promise.resolve();
    },
  };
  bridgeStore = new SqliteBridgeStore(join(dir, 'bridge.db'), {
    vaultKey: randomBytes(32),
    lookupKey: randomBytes(32),
  });
  const operatorFor = () =>
    withOverrides(operator, {
      send: (signer, entries) => {
        handedOver.push(...entries);
        return operator.send(signer, entries);
      },
    });
  const now = () => Date.now();
  engine = new BridgeEngine({
    store: bridgeStore,
    surface,
    sessions: sqliteSessionFactory({ dataDir: dir, operatorFor, keyHolder: 'telegram', now }),
    connection,
    queuePrefix: testPrefix(),
    codec: new AeadEnvelopeCodec(randomBytes(32)),
    operatorFor,
    keyHolder: 'telegram',
    now: () => Date.now(),
    logger: quiet,
    pollIntervalMs: 3_600_000,
  });
  await engine.start();
});
afterEach(async () => {
  await engine.close();
  bridgeStore.close();
  connection.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

async function identity(name: string): Promise<string> {
  const id = engine.createIdentity(`test:${name}`, `chat-${name}`);
  await engine.register(id, name);
  return id;
}

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

/** Polls `id` and waits until its mailbox at the Operator is empty (everything acknowledged). */
async function drained(id: string, name: string): Promise<void> {
  await engine.pollNow(id);
  await vi.waitFor(
    () => {
      expect(operator.mailboxes.get(name) ?? []).toEqual([]);
    },
    { timeout: 20_000, interval: 50 },
  );
}

const followerNotices = (chat: string) =>
  notices.filter((n) => n.chat === chat && n.notice.kind === 'new-follower');

describe('BridgeEngine', () => {
  it('refuses blank letters, posts and collective messages, and letters to oneself', async () => {
    const ann = await identity('ann');
    await identity('ben');
    for (const blank of ['', '  ', '\n\t', '\u200b']) {
      expect(await codeOf(engine.send(ann, '@ben', blank))).toBe('EMPTY_MESSAGE');
      expect(await codeOf(engine.postToFollowers(ann, blank))).toBe('EMPTY_MESSAGE');
      expect(await codeOf(engine.sendToCollective(ann, 'club', blank))).toBe('EMPTY_MESSAGE');
    }
    await expect(engine.send(ann, '@ann', 'hi me')).rejects.toMatchObject({
      code: 'USAGE',
      message: 'You cannot send a letter to yourself.',
    });
    expect(handedOver).toEqual([]);
  });

  it('an old follow letter delivered again after an unfollow neither follows nor notifies', async () => {
    const ann = await identity('ann');
    const ben = await identity('ben');
    await engine.follow(ann, 'ben');
    await vi.waitFor(
      () => {
        expect(engine.followers(ben)).toEqual(['ann']);
      },
      { timeout: 20_000, interval: 50 },
    );
    const [followLetter] = handedOver;
    await engine.unfollow(ann, 'ben');
    await vi.waitFor(
      () => {
        expect(engine.followers(ben)).toEqual([]);
      },
      { timeout: 20_000, interval: 50 },
    );
    await drained(ben, 'ben');

    // The Operator delivers the first follow letter again.
    await operator.send({ name: 'ann', signSecret: new Uint8Array(64) }, [followLetter!]);
    await drained(ben, 'ben');
    expect(engine.followers(ben)).toEqual([]);
    expect(followerNotices('chat-ben')).toHaveLength(1);
  });

  it('posts to followers past one whose registered box key is all zeros', async () => {
    const ann = await identity('ann');
    const ben = await identity('ben');
    await engine.follow(ann, 'ben');
    // Zed's record at the Operator carries an all-zero (low-order) box key.
    const zed = generateIdentityKeys();
    operator.receipts.set(
      'zed',
      signReceipt(
        {
          name: 'zed',
          signKey: zed.signPublic,
          boxKey: new Uint8Array(32),
          keyHolder: 'self',
          registeredAt: Date.now(),
        },
        operator.keys.signSecret,
      ),
    );
    const benBox = engine.client(ben).whoami().boxKey;
    const follow = sealLetter(
      {
        v: 1,
        kind: 'follow',
        from: 'zed',
        to: 'ben',
        sentAt: Date.now(),
        id: randomBytes(16),
        body: '',
      },
      zed.signSecret,
      Buffer.from(benBox, 'base64url'),
    );
    await operator.send({ name: 'zed', signSecret: zed.signSecret }, [
      { to: 'ben', sealed: follow },
    ]);
    await vi.waitFor(
      async () => {
        await engine.pollNow(ben);
        expect(engine.followers(ben)).toEqual(['ann', 'zed']);
      },
      { timeout: 20_000, interval: 100 },
    );

    const sent = await engine.postToFollowers(ben, 'to my followers');
    expect(sent.followers).toEqual(['ann']);
    expect(sent.failed.map((f) => [f.name, f.code])).toEqual([['zed', 'KEY_INVALID']]);
    await vi.waitFor(
      () => {
        expect(handedOver.filter((e) => e.to === 'ann')).toHaveLength(1);
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(handedOver.filter((e) => e.to === 'zed')).toEqual([]);
  });
});
