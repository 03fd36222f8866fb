/**
 * The adapter's Redis connection: reached within a bounded time at start (or the bot does not
 * start), and, while it runs, an outage is one log line every 30 s rather than one per retry.
 */
import type { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { LogFields, Logger } from '../../common/logging/index.js';

/** Where the adapter's Redis is (the password is kept apart: it is never shown). */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
  readonly db: number;
}

/** How Redis is shown in messages and logs: `redis://host:port` (and `/db` when not 0). */
export function redisUrlForLogs(address: RedisAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `redis://${host}:${address.port}${address.db === 0 ? '' : `/${address.db}`}`;
}

/** The outcome of {@link connectRedis}. */
export type RedisConnectResult =
  | { readonly ok: true; readonly connection: Redis }
  | { readonly ok: false; readonly aborted: boolean; readonly reason: string };

/** Options for {@link connectRedis}. */
export interface ConnectRedisOptions extends RedisAddress {
  readonly password: string | undefined;
  /** How long to keep trying before giving up. */
  readonly timeoutMs: number;
  /** Gives up at once when this resolves (a SIGTERM during startup). */
  readonly abort?: Promise<unknown>;
}

/**
 * Opens the connection the adapter's queues share (`maxRetriesPerRequest: null`, as BullMQ
 * workers need) and waits until Redis answers, retrying as ioredis does.
 * @returns the ready connection, or why Redis could not be reached (its address without the
 * password, and the last error ioredis saw) after the connection was dropped
 */
export async function connectRedis(options: ConnectRedisOptions): Promise<RedisConnectResult> {
  const { password } = options;
  const connection = new Redis({
    host: options.host,
    port: options.port,
    db: options.db,
    ...(password === undefined ? {} : { password }),
    maxRetriesPerRequest: null,
    lazyConnect: true,
  });
  let lastError = 'no answer';
  const onError = (error: Error) => {
    lastError = password === undefined ? error.message : error.message.replaceAll(password, '…');
  };
  connection.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    // connect() rejects on the first failure while ioredis keeps retrying: wait for 'ready'.
    new Promise<'ready'>((resolveReady) => {
      connection.once('ready', () => {
        resolveReady('ready');
      });
      connection.connect().catch(() => undefined);
    }),
    new Promise<'timeout'>((resolveTimeout) => {
      timer = setTimeout(() => {
        resolveTimeout('timeout');
      }, options.timeoutMs);
    }),
    ...(options.abort === undefined ? [] : [options.abort.then(() => 'aborted' as const)]),
  ]);
  clearTimeout(timer);
  connection.removeListener('error', onError);
  if (outcome === 'ready') return { ok: true, connection };
  connection.disconnect();
  return {
    ok: false,
    aborted: outcome === 'aborted',
    reason:
      outcome === 'aborted'
        ? 'stopped while connecting'
        : `Redis at ${redisUrlForLogs(options)} cannot be reached: ${lastError}. Is redis-server ` +
          'running there (apt-get install redis-server), and are redis.host, redis.port and the ' +
          'Redis password right?',
  };
}

/** Options for {@link watchRedisOutages}. */
export interface RedisOutageOptions {
  /** Shown in the log line (see {@link redisUrlForLogs}). */
  readonly redis: string;
  /** At most one outage line per this many ms. @defaultValue 30000 */
  readonly intervalMs?: number;
  /** @defaultValue `Date.now` */
  readonly now?: () => number;
}

/**
 * Events the engine logs on every failed Redis call of its queues and workers: while Redis is
 * away they come several times a second, so they are folded into the outage line.
 */
const FOLDED_EVENTS = new Set(['bridge.queue_error', 'bridge.worker_error']);

/**
 * Watches the shared connection while the adapter runs. While Redis is away, every connection
 * error (the connection's own, and the engine's queue and worker errors) is folded into one
 * `redis.unreachable` warning per interval, counting the ones left out; `redis.reconnected`
 * follows when it is back.
 * @param connection - the shared connection (any event emitter of ioredis' `error` and `ready`)
 * @returns the logger to give the engine (it folds the engine's Redis errors), and `close` to stop
 * watching
 */
export function watchRedisOutages(
  connection: EventEmitter,
  logger: Logger,
  options: RedisOutageOptions,
): { readonly logger: Logger; close(): void } {
  const intervalMs = options.intervalMs ?? 30_000;
  const now = options.now ?? Date.now;
  let down = false;
  let lastLine: number | undefined;
  let folded = 0;
  const failed = (fields: LogFields | undefined) => {
    const at = now();
    if (lastLine !== undefined && at - lastLine < intervalMs) {
      folded++;
      return;
    }
    lastLine = at;
    logger.warn('redis.unreachable', {
      redis: options.redis,
      code: typeof fields?.code === 'string' ? fields.code : 'ERROR',
      retrying: true,
      ...(folded > 0 ? { repeats: folded } : {}),
    });
    folded = 0;
  };
  const onError = (error: Error & { code?: unknown }) => {
    down = true;
    failed({ code: typeof error.code === 'string' ? error.code : 'ERROR' });
  };
  const onReady = () => {
    if (!down) return;
    down = false;
    lastLine = undefined;
    folded = 0;
    logger.info('redis.reconnected', { redis: options.redis });
  };
  connection.on('error', onError);
  connection.on('ready', onReady);
  const warn = (event: string, fields?: LogFields) => {
    if (FOLDED_EVENTS.has(event)) failed(fields);
    else logger.warn(event, fields);
  };
  return {
    logger: {
      debug: (event, fields) => {
        logger.debug(event, fields);
      },
      info: (event, fields) => {
        logger.info(event, fields);
      },
      warn,
      error: (event, fields) => {
        logger.error(event, fields);
      },
    },
    close: () => {
      connection.removeListener('error', onError);
      connection.removeListener('ready', onReady);
    },
  };
}
