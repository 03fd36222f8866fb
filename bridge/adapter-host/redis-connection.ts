/**
 * The adapter's Redis connection: reached within a bounded time at start, or the bot does not
 * start. While it runs, the engine watches it (see bridge/queue/redis-state.ts).
 */
import { Redis } from 'ioredis';

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
