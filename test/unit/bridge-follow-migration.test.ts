/**
 * Following has one home, each identity's letter store: a bot's vault written by the version that
 * kept follow lists in the bridge store is moved there once at engine start, then emptied, and an
 * interrupted move is finished by the next start. Real SQLite files, a real Redis, an Operator in
 * this process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AeadEnvelopeCodec,
  BridgeEngine,
  SqliteBridgeStore,
  sqliteSessionFactory,
  type ChatSurface,
} from '../../bridge/index.js';
import { HttpOperatorClient } from '../../client/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { silentLogger } from '../../common/logging/index.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import { startRedisServer, testPrefix, type RedisServer } from '../support/redis-server.js';

let redis: RedisServer;
let operator: TestOperator;
const agent = new Agent();
beforeAll(async () => {
  [redis, operator] = await Promise.all([startRedisServer(), startTestOperator({ powBits: 2 })]);
});
afterAll(async () => {
  await agent.close();
  await Promise.all([redis.cleanup(), operator.close()]);
});

const surface: ChatSurface = {
  deliverLetter: () => Promise.resolve('ref'),
  deliverCollectiveMessage: () => Promise.resolve('ref'),
  notify: () => Promise.resolve(),
};

/** One run of a bot on `dir`: its vault, its engine, started. */
async function bot(dir: string, keys: { vaultKey: Uint8Array; lookupKey: Uint8Array }) {
  const store = new SqliteBridgeStore(join(dir, 'bridge.db'), keys);
  const connection = redis.connect();
  const operatorFor = () =>
    new HttpOperatorClient({ baseUrl: operator.url, dispatcher: agent, now: Date.now });
  const engine = new BridgeEngine({
    store,
    surface,
    sessions: sqliteSessionFactory({
      dataDir: dir,
      operatorFor,
      keyHolder: 'telegram',
      now: Date.now,
    }),
    connection,
    queuePrefix: testPrefix(),
    codec: new AeadEnvelopeCodec(randomBytes(32)),
    operatorFor,
    keyHolder: 'telegram',
    now: Date.now,
    logger: silentLogger,
    pollIntervalMs: 3_600_000,
  });
  await engine.start();
  return {
    engine,
    stop: async () => {
      await engine.close();
      store.close();
      connection.disconnect();
    },
  };
}

/** Writes follow rows into a closed vault as the version before did (`SqliteBridgeStore.follow`). */
function writeLegacyFollows(dir: string, identity: string, names: readonly string[]): void {
  const db = new Database(join(dir, 'bridge.db'));
  try {
    const insert = db.prepare(
      'INSERT INTO follows (identity, name) VALUES (?, ?) ON CONFLICT DO NOTHING',
    );
    for (const name of names) insert.run(identity, name);
  } finally {
    db.close();
  }
}

const vaultFollows = (dir: string): number => {
  const db = new Database(join(dir, 'bridge.db'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM follows').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('moving follow lists out of the bridge store', () => {
  it('copies them into each letter store once, empties the vault, and finishes an interrupted move', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'komrade-follow-migration-'));
    const keys = { vaultKey: randomBytes(32), lookupKey: randomBytes(32) };
    try {
      let run = await bot(dir, keys);
      const ann = run.engine.createIdentity('test:ann', 'chat-ann');
      await run.engine.register(ann, `ann${Date.now().toString(36)}`);
      const ben = run.engine.createIdentity('test:ben', 'chat-ben');
      await run.stop();

      // The vault as the version before left it: ann follows two komrades, ben one.
      writeLegacyFollows(dir, ann, ['cat', 'dan']);
      writeLegacyFollows(dir, ben, ['eve']);
      expect(vaultFollows(dir)).toBe(3);

      run = await bot(dir, keys);
      expect(run.engine.following(ann)).toEqual(['cat', 'dan']);
      expect(run.engine.following(ben)).toEqual(['eve']);
      expect(vaultFollows(dir)).toBe(0);
      await run.stop();

      // Interrupted after copying, before dropping: the rows are back; the next start finishes.
      writeLegacyFollows(dir, ann, ['cat']);
      run = await bot(dir, keys);
      expect(run.engine.following(ann)).toEqual(['cat', 'dan']);
      expect(vaultFollows(dir)).toBe(0);
      await run.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
