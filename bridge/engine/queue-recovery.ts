/**
 * Rebuilding Redis from the bridge store. One adapter process owns a queue prefix, so at start,
 * before its workers run, whatever Redis holds under the prefix (jobs a killed process left
 * "active", locked until BullMQ's stall check) is thrown away and queued again from the store; a
 * Redis that comes back empty while the bot runs is filled again the same way.
 */
import { Queue } from 'bullmq';
import { checkEvictionPolicy, RedisState } from '../queue/redis-state.js';
import { QUEUE_ROLES, queueNames } from '../queue/jobs.js';
import type { QueueContext } from './queue-context.js';

/** What {@link QueueRecovery} needs. */
export interface QueueRecoveryDeps extends QueueContext {
  /** Moves what older versions kept only in Redis into the store (before the queues are cleared). */
  readonly adopt: () => Promise<void>;
  /** Queues again everything the store says is still to do. */
  readonly requeue: () => Promise<void>;
  /** Shown in the Redis log lines (an address without the password). */
  readonly redis?: string;
}

/** Clears the prefix's queues at start and refills them from the store, then and when emptied. */
export class QueueRecovery {
  readonly #deps: QueueRecoveryDeps;
  readonly #state: RedisState;

  constructor(deps: QueueRecoveryDeps) {
    this.#deps = deps;
    this.#state = new RedisState(deps.connection, {
      prefix: deps.prefix,
      logger: deps.logger,
      rebuild: deps.requeue,
      ...(deps.redis === undefined ? {} : { redis: deps.redis }),
    });
  }

  /** Whether Redis answers now (queue and worker errors are not logged one by one while not). */
  get redisUp(): boolean {
    return this.#state.up;
  }

  /**
   * Before the workers start: refuses a Redis that may evict keys, keeps what older versions
   * queued, and empties this prefix's queues (jobs a killed process left active included).
   * @throws `CONFIG_INVALID` when Redis' maxmemory-policy is not `noeviction`
   */
  async clear(): Promise<void> {
    const { connection, prefix, logger } = this.#deps;
    if ((await checkEvictionPolicy(connection)) === 'not-permitted') {
      logger.warn('bridge.redis_policy_unchecked', { setting: 'maxmemory-policy' });
    }
    await this.#deps.adopt();
    const names = queueNames(prefix);
    for (const role of QUEUE_ROLES) {
      const queue = new Queue(names[role], { connection, prefix });
      try {
        await queue.obliterate({ force: true });
      } finally {
        await queue.close();
      }
    }
  }

  /** Once the workers run: queues everything again from the store, and watches Redis. */
  async refill(): Promise<void> {
    await this.#deps.requeue();
    await this.#state.start();
  }

  close(): void {
    this.#state.close();
  }
}
