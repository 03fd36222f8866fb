/**
 * Queue recovery on its own, on a real Redis that forgets everything when it restarts (no
 * persistence): at start it keeps what older versions queued, then empties the prefix's queues;
 * it refuses a Redis that may evict keys; and when Redis comes back empty it queues again, from
 * the bridge store, each outbox row once.
 */
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QUEUE_ROLES, queueNames, sentinelKey } from '../../bridge/index.js';
import { Notices } from '../../bridge/engine/notices.js';
import { Outbox } from '../../bridge/engine/outbox.js';
import { QueueRecovery } from '../../bridge/engine/queue-recovery.js';
import type { Sessions } from '../../bridge/engine/sessions.js';
import { outboxJobId } from '../../bridge/queue/jobs.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { testPrefix } from '../support/redis-server.js';
import { engineWorld, useRedisServer, type EngineWorld } from '../support/engine-fixture.js';

const redis = useRedisServer({ persistence: false });

let world: EngineWorld;
let sessions: Sessions;
let outbox: Outbox;
let recovery: QueueRecovery;
/** Calls of `adopt` and `requeue`, in order. */
let calls: string[];
/** The waiting jobs of every queue of the prefix, when `adopt` was called. */
let seenByAdopt: number;

beforeEach(() => {
  world = engineWorld(redis.server);
  sessions = world.sessions();
  calls = [];
  seenByAdopt = -1;
  const context = { connection: world.connection, prefix: world.prefix, logger: world.logger };
  outbox = new Outbox({
    ...context,
    store: world.store,
    codec: world.codec,
    sessions,
    notices: new Notices({ sessions, surface: world.surface, logger: world.logger }),
    onSent: () => Promise.resolve(),
  });
  recovery = new QueueRecovery({
    ...context,
    adopt: async () => {
      calls.push('adopt');
      seenByAdopt = await waitingEverywhere(world.prefix);
    },
    requeue: async () => {
      calls.push('requeue');
      await outbox.requeueAll();
    },
  });
});

afterEach(async () => {
  recovery.close();
  await outbox.close();
  sessions.closeAll();
  await world.close();
});

/** How many jobs wait in the three queues of `prefix`. */
async function waitingEverywhere(prefix: string): Promise<number> {
  let total = 0;
  for (const role of QUEUE_ROLES) {
    const queue = new Queue(queueNames(prefix)[role], { connection: world.connection, prefix });
    try {
      total += await queue.getWaitingCount();
    } finally {
      await queue.close();
    }
  }
  return total;
}

/** Queues one job in each of the prefix's queues, as a killed process leaves them. */
async function leftBehind(prefix: string): Promise<void> {
  const id = 'A'.repeat(22);
  const data = { outbox: { identity: id, row: id }, poll: { identity: id } };
  for (const role of QUEUE_ROLES) {
    const queue = new Queue(queueNames(prefix)[role], { connection: world.connection, prefix });
    try {
      await queue.add(role, role === 'deliver' ? { identity: id, delivery: id } : data[role]);
    } finally {
      await queue.close();
    }
  }
}

function addRows(count: number): string[] {
  const ann = 'B'.repeat(22);
  world.store.createIdentity('test:ann', {
    id: ann,
    keys: generateIdentityKeys(),
    storageKey: randomBytes(32),
    chat: 'chat-ann',
  });
  const added = world.store.addOutbox(
    Array.from({ length: count }, (_, i) => ({
      identity: ann,
      kind: 'letter' as const,
      envelope: `sealed-${i}`,
    })),
  );
  if (!added.added) throw new Error('not added');
  return added.rows.map((r) => r.id);
}

async function outboxJobIds(): Promise<string[]> {
  const jobs = await world.queue('outbox').getJobs(['waiting', 'delayed', 'active']);
  return jobs.map((j) => j.id ?? '').sort();
}

describe('QueueRecovery', () => {
  it("at start, keeps what older versions queued, then empties this prefix's queues only", async () => {
    const other = testPrefix();
    await leftBehind(world.prefix);
    await leftBehind(other);
    await recovery.clear();
    expect(calls).toEqual(['adopt']);
    expect(seenByAdopt).toBe(3);
    expect(await waitingEverywhere(world.prefix)).toBe(0);
    expect(await waitingEverywhere(other)).toBe(3);
  });

  it('refuses a Redis that may evict keys, naming the setting', async () => {
    await world.connection.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      await expect(recovery.clear()).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('maxmemory-policy noeviction') as unknown,
      });
      expect(calls).toEqual([]);
    } finally {
      await world.connection.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('when Redis comes back empty, queues each outbox row again, once', async () => {
    const rows = addRows(3);
    const expected = rows.map(outboxJobId).sort();
    await recovery.clear();
    await recovery.refill();
    expect(calls).toEqual(['adopt', 'requeue']);
    expect(await outboxJobIds()).toEqual(expected);
    // Queued again while the jobs are there: still one job per row.
    await outbox.requeueAll();
    expect(await outboxJobIds()).toEqual(expected);

    await redis.server.stop();
    await redis.server.start();
    await vi.waitFor(
      async () => {
        expect(await world.connection.exists(sentinelKey(world.prefix))).toBe(1);
      },
      { timeout: 20_000, interval: 50 },
    );
    expect(calls).toEqual(['adopt', 'requeue', 'requeue']);
    expect(await outboxJobIds()).toEqual(expected);
    expect(world.logger.lines.map((l) => l.event)).toEqual(
      expect.arrayContaining(['bridge.redis_lost', 'bridge.redis_emptied', 'bridge.redis_rebuilt']),
    );
  });
});
