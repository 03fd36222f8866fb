/**
 * What the engine's queue-owning parts (outbox, inbox, delivery) share: the Redis connection, the
 * queue names under the deployment's prefix, and how their workers back off.
 */
import { Queue, Worker, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../common/logging/index.js';
import { queueNames, type JobPayloads, type QueueRole } from '../queue/jobs.js';
import { codeOf } from './job-failures.js';

/** The engine's queues live under one prefix, on one connection. */
export interface QueueContext {
  /** A Redis connection with `maxRetriesPerRequest: null`; the engine does not close it. */
  readonly connection: Redis;
  /** Prefix of the queue names and Redis keys (one per deployment, one per test). */
  readonly prefix: string;
  readonly logger: Logger;
  /** Whether Redis answers now: while it does not, its outage is logged once elsewhere. */
  readonly redisUp?: () => boolean;
}

/** Waits 250 ms, then twice as long each attempt, up to 30 s. */
export const backoff = (attemptsMade: number) =>
  Math.min(30_000, 250 * 2 ** Math.max(0, attemptsMade));

/** Opens the queue of `role`; Redis going away is logged (ioredis reconnects), without detail. */
export function openQueue<K extends QueueRole>(
  context: QueueContext,
  role: K,
): Queue<JobPayloads[K]> {
  const queue = new Queue<JobPayloads[K]>(queueNames(context.prefix)[role], {
    connection: context.connection,
    prefix: context.prefix,
  });
  queue.on('error', (error: Error) => {
    if (context.redisUp?.() === false) return;
    context.logger.warn('bridge.queue_error', { code: codeOf(error) });
  });
  return queue;
}

/** Starts the worker of `role` with the engine's backoff; its errors are logged. */
export function startWorker<K extends QueueRole>(
  context: QueueContext,
  role: K,
  processor: Processor<JobPayloads[K]>,
  concurrency: number,
): Worker<JobPayloads[K]> {
  const worker = new Worker<JobPayloads[K]>(queueNames(context.prefix)[role], processor, {
    connection: context.connection,
    prefix: context.prefix,
    settings: { backoffStrategy: backoff },
    concurrency,
  });
  worker.on('error', (error) => {
    if (context.redisUp?.() === false) return;
    context.logger.warn('bridge.worker_error', { code: codeOf(error) });
  });
  return worker;
}
