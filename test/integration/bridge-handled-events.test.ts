/**
 * Platform events re-delivered after a crash, at the engine (real Redis and BullMQ, an in-memory
 * Operator): a command replayed under the same event key queues nothing and answers as the first
 * time, the outbox row and the event are written together, a send left in the outbox is sent by
 * the next engine on the same store, and the answer is given once.
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
import { randomBytes } from '../../common/crypto/index.js';
import type { Logger } from '../../common/logging/index.js';
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
/** While set, the Operator refuses every send (as if unreachable). */
let failSends = false;
/** Builds another engine on the same store, folder and queue prefix (a restart). */
let restartedEngine: () => BridgeEngine;

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
        if (failSends) return Promise.reject(new Error('unreachable'));
        return operator.send(signer, entries);
      },
    });
  const now = () => Date.now();
  failSends = false;
  const queuePrefix = testPrefix();
  restartedEngine = () =>
    new BridgeEngine({
      store: bridgeStore,
      surface,
      sessions: sqliteSessionFactory({ dataDir: dir, operatorFor, keyHolder: 'telegram', now }),
      connection,
      queuePrefix,
      codec: new AeadEnvelopeCodec(randomBytes(32)),
      operatorFor,
      keyHolder: 'telegram',
      now: () => Date.now(),
      logger: quiet,
      pollIntervalMs: 3_600_000,
    });
  engine = restartedEngine();
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

/** Waits until the outbox is empty, then checks how many letters the Operator was handed. */
async function sentAll(count: number): Promise<void> {
  await vi.waitFor(
    () => {
      expect(bridgeStore.outboxRows()).toEqual([]);
    },
    { timeout: 20_000, interval: 50 },
  );
  expect(handedOver).toHaveLength(count);
}

describe('events handled once', () => {
  it('a /send replayed under its event key queues nothing and answers as the first time', async () => {
    const ann = await identity('ann');
    const ben = await identity('ben');
    const event = { event: 'telegram:1:500' };
    const first = await engine.send(ann, '@ben', 'only once', event);
    const again = await engine.send(ann, '@ben', 'only once', event);
    expect(again).toEqual(first);
    await sentAll(1);
    // Without an event key (or under another one), a command is a new letter each time.
    await engine.send(ann, '@ben', 'twice', { event: 'telegram:1:501' });
    await engine.send(ann, '@ben', 'twice');
    await sentAll(3);
    await drained(ben, 'ben');
  });

  it('follows, posts and collective messages replayed under their event key are queued once', async () => {
    const ann = await identity('ann');
    const ben = await identity('ben');
    const followed = await engine.follow(ben, '@ann', { event: 'discord:7' });
    expect(await engine.follow(ben, '@ann', { event: 'discord:7' })).toEqual({
      name: followed.name,
      added: false,
    });
    await sentAll(1);
    // Ann's bot reads the follow letter: ben is her follower now.
    await drained(ann, 'ann');
    expect(engine.followers(ann)).toEqual(['ben']);
    const post = await engine.postToFollowers(ann, 'a post', { event: 'discord:8' });
    expect(await engine.postToFollowers(ann, 'a post', { event: 'discord:8' })).toEqual(post);
    await engine.createCollective(ann, 'club');
    // Nobody else is a member: nothing is queued, and the replay still answers as before.
    const alone = await engine.sendToCollective(ann, 'club', 'hello', { event: 'discord-msg:9' });
    expect(alone.recipients).toBe(0);
    expect(await engine.sendToCollective(ann, 'club', 'hello', { event: 'discord-msg:9' })).toEqual(
      alone,
    );
    await sentAll(2);
  });

  it('records whether the answer was given, so a replay is answered once', async () => {
    const ann = await identity('ann');
    await identity('ben');
    const event = 'telegram:1:600';
    expect(engine.eventAnswered(event)).toBe(false);
    await engine.send(ann, '@ben', 'hi', { event });
    expect(engine.eventAnswered(event)).toBe(false);
    engine.markEventAnswered(event);
    expect(engine.eventAnswered(event)).toBe(true);
    // An action that reaches the Operator directly is recorded once it succeeded.
    let runs = 0;
    const act = () =>
      engine.once({ event: 'telegram:1:601' }, () => {
        runs++;
        return Promise.resolve({ expiresAt: 42 });
      });
    expect(await act()).toEqual({ expiresAt: 42 });
    expect(await act()).toEqual({ expiresAt: 42 });
    expect(runs).toBe(1);
  });

  it('a send left in the outbox by an engine that stopped is sent by the next one on the same store', async () => {
    const ann = await identity('ann');
    const ben = await identity('ben');
    // The Operator does not answer this engine's send: the row stays in the outbox.
    failSends = true;
    await engine.send(ann, '@ben', 'kept', { event: 'telegram:1:700' });
    await vi.waitFor(() => {
      expect(handedOver.length).toBeGreaterThan(0);
    });
    expect(bridgeStore.outboxRows()).toHaveLength(1);
    failSends = false;
    await engine.close();
    engine = restartedEngine();
    await engine.start();
    await drained(ben, 'ben');
    expect(bridgeStore.outboxRows()).toEqual([]);
    // Handed over again by the new engine: the same sealed letter, the same letter id.
    const sealed = handedOver.map((e) => Buffer.from(e.sealed).toString('base64'));
    expect(new Set(sealed).size).toBe(1);
  });
});
