/**
 * The bridge engine's test setup, shared by the engine's integration tests and the unit tests of
 * its parts: a temp folder with a real SQLite bridge store, a real Redis (one server per test
 * file, one queue prefix per test), the in-memory Operator (`powBits` 2) whose operations a test
 * may bend, every letter handed to it recorded, and a chat surface that records what it was asked
 * to show.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from 'vitest';
import type { OperatorClient, OutgoingLetter } from '../../client/index.js';
import {
  AeadEnvelopeCodec,
  queueNames,
  BridgeEngine,
  SqliteBridgeStore,
  sqliteSessionFactory,
  type BridgeEngineDeps,
  type ChatNotice,
  type ChatSurface,
  type CollectiveMessageForChat,
  type LetterForChat,
  type QueueRole,
  type SqliteBridgeStoreKeys,
} from '../../bridge/index.js';
import { Sessions } from '../../bridge/engine/sessions.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import type { LogFields, Logger } from '../../common/logging/index.js';
import { toBase64url } from '../../common/wire/index.js';
import { FakeOperator } from './fake-operator.js';
import { withOverrides } from './operator-client-overrides.js';
import { startRedisServer, testPrefix, type RedisServer } from './redis-server.js';

/** A promise and the functions that settle it (a test holds a step with it). */
export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A logger that keeps every line, for tests that check what was logged (never content). */
export interface RecordingLogger extends Logger {
  readonly lines: { readonly level: string; readonly event: string; readonly fields: LogFields }[];
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const at =
    (level: string) =>
    (event: string, fields: LogFields = {}) => {
      lines.push({ level, event, fields });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A chat surface that records what it was asked to show; `fail` makes its next calls throw. */
export interface RecordingSurface extends ChatSurface {
  readonly letters: { readonly chat: string; readonly letter: LetterForChat }[];
  readonly messages: { readonly chat: string; readonly message: CollectiveMessageForChat }[];
  readonly notices: { readonly chat: string; readonly notice: ChatNotice }[];
  /** How many calls reached the surface (answered or not yet). */
  calls: number;
  /** While above zero, each call throws (as a platform that is down) and counts one down. */
  fail: number;
  /** Awaited by each call before it answers (a test holds the platform with it). */
  gate: Promise<void>;
}

export function recordingSurface(): RecordingSurface {
  const surface: RecordingSurface = {
    letters: [],
    messages: [],
    notices: [],
    calls: 0,
    fail: 0,
    gate: Promise.resolve(),
    deliverLetter: async (chat, letter) => {
      await answered();
      surface.letters.push({ chat, letter });
      return `ref-${randomBytes(4).join('')}`;
    },
    deliverCollectiveMessage: async (chat, message) => {
      await answered();
      surface.messages.push({ chat, message });
      return `ref-${randomBytes(4).join('')}`;
    },
    notify: async (chat, notice) => {
      await answered();
      surface.notices.push({ chat, notice });
    },
  };
  async function answered(): Promise<void> {
    surface.calls++;
    await surface.gate;
    if (surface.fail > 0) {
      surface.fail--;
      throw Object.assign(new Error('platform down'), { code: 'PLATFORM_DOWN' });
    }
  }
  return surface;
}

/** An Operator operation a test replaces (see {@link EngineWorld.bend}). */
export type Bend = { -readonly [K in keyof OperatorClient]?: OperatorClient[K] };

/** What the engine and its parts are built from, for one test. */
export interface EngineWorld {
  readonly dir: string;
  readonly connection: Redis;
  /** This test's queue prefix. */
  readonly prefix: string;
  readonly operator: FakeOperator;
  /** Operations of the Operator replaced for every identity (delete one to restore it). */
  readonly bend: Bend;
  /** Every letter handed to the Operator, as sealed (refused ones included). */
  readonly handedOver: OutgoingLetter[];
  readonly surface: RecordingSurface;
  readonly logger: RecordingLogger;
  /** The same key across restarts, so a restarted engine opens the rows of the one before. */
  readonly codec: AeadEnvelopeCodec;
  readonly operatorFor: (isolationKey: string) => OperatorClient;
  readonly sessionFactory: BridgeEngineDeps['sessions'];
  /** The bridge store; {@link EngineWorld.reopenStore} replaces it. */
  store: SqliteBridgeStore;
  readonly storePath: string;
  readonly storeKeys: SqliteBridgeStoreKeys;
  /** Closes the store and opens it again on the same file (a crash and a restart). */
  reopenStore(): SqliteBridgeStore;
  /** Sessions on the current store (what the engine's parts share). */
  sessions(): Sessions;
  /**
   * Creates an identity for chat user `test:<name>` (chat `chat-<name>`) and registers `name` at
   * the Operator through its own client, with `sessions` (the engine's parts do not register).
   */
  hold(name: string, sessions: Sessions): Promise<string>;
  /** Waits until the Operator holds no letter for `name` (everything acknowledged). */
  mailboxEmpty(name: string): Promise<void>;
  /** A handle on the engine's queue of `role` under this prefix, to look into it. */
  queue(role: QueueRole): Queue;
  /** Waits until the queue of `role` holds no job (none waiting, delayed or running). */
  idle(role: QueueRole): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds an {@link EngineWorld} on `redis` (a new folder, prefix and Operator); without one, for
 * parts that use no queue, reading `connection` throws.
 */
export function engineWorld(redis?: RedisServer): EngineWorld {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-engine-'));
  const redisConnection = redis?.connect();
  const connectionOf = (): Redis => {
    if (redisConnection === undefined) throw new Error('This test world has no Redis.');
    return redisConnection;
  };
  const operator = new FakeOperator(() => Date.now());
  operator.powBits = 2;
  const bend: Bend = {};
  const handedOver: OutgoingLetter[] = [];
  const bent = withOverrides(operator, bend);
  const operatorFor = () =>
    withOverrides(bent, {
      sendAnonymously: (letter) => {
        handedOver.push({ to: letter.to, sealed: letter.sealed });
        return bent.sendAnonymously(letter);
      },
    });
  const now = () => Date.now();
  const keys = { vaultKey: randomBytes(32), lookupKey: randomBytes(32) };
  const path = join(dir, 'bridge.db');
  const sessionFactory = sqliteSessionFactory({
    dataDir: dir,
    operatorFor,
    keyHolder: 'telegram',
    now,
  });
  const queues = new Map<QueueRole, Queue>();
  const world: EngineWorld = {
    dir,
    get connection() {
      return connectionOf();
    },
    prefix: testPrefix(),
    operator,
    bend,
    handedOver,
    surface: recordingSurface(),
    logger: recordingLogger(),
    codec: new AeadEnvelopeCodec(randomBytes(32)),
    operatorFor,
    sessionFactory,
    store: new SqliteBridgeStore(path, keys),
    storePath: path,
    storeKeys: keys,
    reopenStore() {
      world.store.close();
      world.store = new SqliteBridgeStore(path, keys);
      return world.store;
    },
    sessions: () => new Sessions(world.store, sessionFactory),
    async hold(name, sessions) {
      const id = toBase64url(randomBytes(16));
      world.store.createIdentity(`test:${name}`, {
        id,
        keys: generateIdentityKeys(),
        storageKey: randomBytes(32),
        chat: `chat-${name}`,
      });
      await sessions.must(id).client.register(name);
      sessions.setName(id, name);
      return id;
    },
    async mailboxEmpty(name) {
      await vi.waitFor(
        () => {
          expect(operator.mailboxes.get(name) ?? []).toEqual([]);
        },
        { timeout: 20_000, interval: 50 },
      );
    },
    queue(role) {
      const open =
        queues.get(role) ??
        new Queue(queueNames(world.prefix)[role], {
          connection: connectionOf(),
          prefix: world.prefix,
        });
      queues.set(role, open);
      return open;
    },
    async idle(role) {
      const queue = world.queue(role);
      await vi.waitFor(
        async () => {
          const counts = await queue.getJobCounts(
            'waiting',
            'active',
            'delayed',
            'prioritized',
            'waiting-children',
          );
          expect(counts).toEqual(Object.fromEntries(Object.keys(counts).map((k) => [k, 0])));
        },
        { timeout: 20_000, interval: 50 },
      );
    },
    async close() {
      for (const queue of queues.values()) await queue.close();
      world.store.close();
      redisConnection?.disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** A test file's Redis server: started before its tests, stopped after them. */
export function useRedisServer(options: Parameters<typeof startRedisServer>[0] = {}): {
  readonly server: RedisServer;
} {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer(options);
  });
  afterAll(async () => {
    await server?.cleanup();
  });
  return {
    get server() {
      if (server === undefined) throw new Error('The Redis server is started in beforeAll.');
      return server;
    },
  };
}

/** A started engine on an {@link EngineWorld}, rebuilt for each test. */
export interface EngineFixture {
  readonly world: EngineWorld;
  readonly engine: BridgeEngine;
  /** Closes the engine and starts another on the same store, folder and queue prefix. */
  restart(): Promise<BridgeEngine>;
  /** Creates and registers an identity for chat user `test:<name>`, chat `chat-<name>`. */
  identity(name: string): Promise<string>;
  /** Polls `id` and waits until the Operator holds nothing for `name` (all acknowledged). */
  drained(id: string, name: string): Promise<void>;
  /** The notices of `kind` shown in `chat`. */
  noticesOf(chat: string, kind: ChatNotice['kind']): ChatNotice[];
}

/**
 * Starts a Redis server for the test file, and before each test a new {@link EngineWorld} and a
 * started {@link BridgeEngine} on it (polling hourly: tests fetch with `pollNow`); after each
 * test, closes both. Read the fixture's parts inside tests and hooks only.
 */
export function useEngineFixture(): EngineFixture {
  const redis = useRedisServer();
  let current: { world: EngineWorld; engine: BridgeEngine } | undefined;
  const get = () => {
    if (current === undefined) throw new Error('The engine is started in beforeEach.');
    return current;
  };
  const build = (world: EngineWorld) =>
    new BridgeEngine({
      store: world.store,
      surface: world.surface,
      sessions: world.sessionFactory,
      connection: world.connection,
      queuePrefix: world.prefix,
      codec: world.codec,
      operatorFor: world.operatorFor,
      keyHolder: 'telegram',
      now: () => Date.now(),
      logger: world.logger,
      pollIntervalMs: 3_600_000,
    });
  beforeEach(async () => {
    const world = engineWorld(redis.server);
    current = { world, engine: build(world) };
    await current.engine.start();
  });
  afterEach(async () => {
    const done = current;
    current = undefined;
    if (done === undefined) return;
    await done.engine.close();
    await done.world.close();
  });
  const fixture: EngineFixture = {
    get world() {
      return get().world;
    },
    get engine() {
      return get().engine;
    },
    async restart() {
      const running = get();
      await running.engine.close();
      running.engine = build(running.world);
      await running.engine.start();
      return running.engine;
    },
    async identity(name) {
      const { engine } = get();
      const id = engine.createIdentity(`test:${name}`, `chat-${name}`);
      await engine.register(id, name);
      return id;
    },
    async drained(id, name) {
      await get().engine.pollNow(id);
      await get().world.mailboxEmpty(name);
    },
    noticesOf: (chat, kind) =>
      get()
        .world.surface.notices.filter((n) => n.chat === chat && n.notice.kind === kind)
        .map((n) => n.notice),
  };
  return fixture;
}
