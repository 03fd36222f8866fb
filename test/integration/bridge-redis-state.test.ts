/**
 * `RedisState` against a real redis-server that is killed and restarted: an outage is logged once
 * (lost, back), a Redis that comes back with its data asks for nothing, one that comes back empty
 * is rebuilt once, and a Redis that may evict keys is refused.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisState, checkEvictionPolicy, sentinelKey } from '../../bridge/index.js';
import type { LogFields, Logger } from '../../common/logging/index.js';
import { startRedisServer, testPrefix, type RedisServer } from '../support/redis-server.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  await redis.cleanup();
});

function recordingLogger() {
  const lines: { level: string; event: string; fields: LogFields | undefined }[] = [];
  const at =
    (level: string) =>
    (event: string, fields?: LogFields): void => {
      lines.push({ level, event, fields });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return { logger, events: () => lines.map((l) => l.event), lines };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills Redis and, with `empty`, deletes its data, as a restart without persistence would. */
async function restartRedis(empty: boolean): Promise<void> {
  await redis.kill();
  if (empty) {
    await rm(join(redis.dataDir, 'appendonlydir'), { recursive: true, force: true });
  }
  await redis.start();
}

describe('RedisState', () => {
  it('logs an outage once each way, and rebuilds only when Redis came back empty', async () => {
    const connection = redis.connect();
    const prefix = testPrefix();
    const { logger, events } = recordingLogger();
    let rebuilds = 0;
    const state = new RedisState(connection, {
      prefix,
      logger,
      redis: `redis://127.0.0.1:${redis.port}`,
      rebuild: async () => {
        rebuilds++;
        // What the bridge queues again from its store: proves Redis answers during the rebuild.
        await connection.set(`${prefix}:rebuilt`, String(rebuilds));
      },
    });
    try {
      await state.start();
      expect(await connection.exists(sentinelKey(prefix))).toBe(1);
      expect(state.up).toBe(true);

      // Restarted with its data (append-only file): back, and nothing to rebuild.
      await restartRedis(false);
      await until(() => events().includes('bridge.redis_back'), 'redis_back');
      await state.check();
      expect(rebuilds).toBe(0);
      // ioredis retried many times meanwhile; the log has one line each way.
      expect(events().filter((e) => e === 'bridge.redis_lost')).toHaveLength(1);
      expect(events().filter((e) => e === 'bridge.redis_back')).toHaveLength(1);

      // Restarted empty: rebuilt once, and the sentinel is set again.
      await restartRedis(true);
      await until(() => events().includes('bridge.redis_rebuilt'), 'the rebuild');
      expect(rebuilds).toBe(1);
      expect(await connection.get(`${prefix}:rebuilt`)).toBe('1');
      expect(await connection.exists(sentinelKey(prefix))).toBe(1);
      await state.check();
      expect(rebuilds).toBe(1);
      expect(events().filter((e) => e === 'bridge.redis_lost')).toHaveLength(2);
      expect(events()).toContain('bridge.redis_emptied');
    } finally {
      state.close();
      connection.disconnect();
    }
  });

  it('emptied without a reconnection (FLUSHALL): the next check rebuilds', async () => {
    const connection = redis.connect();
    const prefix = testPrefix();
    const { logger } = recordingLogger();
    let rebuilds = 0;
    const state = new RedisState(connection, {
      prefix,
      logger,
      rebuild: () => {
        rebuilds++;
        return Promise.resolve();
      },
    });
    try {
      await state.start();
      await connection.flushall();
      await Promise.all([state.check(), state.check()]);
      expect(rebuilds).toBe(1);
    } finally {
      state.close();
      connection.disconnect();
    }
  });

  it('a failed rebuild leaves the sentinel unset, so the next check tries again', async () => {
    const connection = redis.connect();
    const prefix = testPrefix();
    const { logger, events } = recordingLogger();
    let attempts = 0;
    const state = new RedisState(connection, {
      prefix,
      logger,
      rebuild: () => {
        attempts++;
        return attempts === 1 ? Promise.reject(new Error('store busy')) : Promise.resolve();
      },
    });
    try {
      await state.start();
      await connection.del(sentinelKey(prefix));
      await state.check();
      expect(events()).toContain('bridge.redis_rebuild_failed');
      expect(await connection.exists(sentinelKey(prefix))).toBe(0);
      await state.check();
      expect(attempts).toBe(2);
      expect(await connection.exists(sentinelKey(prefix))).toBe(1);
    } finally {
      state.close();
      connection.disconnect();
    }
  });
});

describe('checkEvictionPolicy', () => {
  it('accepts noeviction and refuses a policy that may evict queue keys, naming the setting', async () => {
    const connection = redis.connect();
    try {
      await connection.config('SET', 'maxmemory-policy', 'noeviction');
      expect(await checkEvictionPolicy(connection)).toBe('noeviction');
      await connection.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await expect(checkEvictionPolicy(connection)).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('maxmemory-policy noeviction') as unknown,
      });
    } finally {
      await connection.config('SET', 'maxmemory-policy', 'noeviction');
      connection.disconnect();
    }
  });

  it('says "not permitted" when Redis refuses CONFIG (a managed Redis, an ACL)', async () => {
    const admin = redis.connect();
    const user = `u${Date.now()}`;
    try {
      await admin.call('ACL', 'SETUSER', user, 'on', '>pw-for-test', '~*', '+@all', '-config');
      const limited = redis.connect();
      try {
        await limited.call('AUTH', user, 'pw-for-test');
        expect(await checkEvictionPolicy(limited)).toBe('not-permitted');
      } finally {
        limited.disconnect();
      }
    } finally {
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
    }
  });
});
