/**
 * What the bridge knows of its Redis: whether it is reachable now (one `bridge.redis_lost` and one
 * `bridge.redis_back` line per outage, never one per retry), whether it came back empty (a
 * sentinel key set at start is gone: its work is rebuilt from the bridge store), and whether it
 * may evict the queues' keys (refused at start).
 */
import type { Redis } from 'ioredis';
import { randomBytes } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { toBase64url } from '../../common/wire/index.js';

/** The sentinel key of a queue prefix: present while Redis still holds what this bridge queued. */
export const sentinelKey = (prefix: string): string => `${prefix}:komrade-sentinel`;

/** Whether Redis may evict keys: BullMQ loses jobs silently unless it is `noeviction`. */
export type EvictionCheck = 'noeviction' | 'not-permitted';

/**
 * Checks Redis' `maxmemory-policy`. BullMQ needs `noeviction`: under any other policy Redis may
 * drop a queue's keys when memory runs short, and jobs vanish without an error.
 * @returns `not-permitted` when Redis refuses `CONFIG GET` (a managed Redis, an ACL): the caller
 * warns and goes on
 * @throws `CONFIG_INVALID` naming the setting when Redis may evict keys
 */
export async function checkEvictionPolicy(connection: Redis): Promise<EvictionCheck> {
  let reply: unknown;
  try {
    reply = await connection.call('CONFIG', 'GET', 'maxmemory-policy');
  } catch {
    return 'not-permitted';
  }
  const policy = Array.isArray(reply) ? (reply as unknown[])[1] : undefined;
  if (typeof policy !== 'string') return 'not-permitted';
  if (policy === 'noeviction') return 'noeviction';
  throw new KomradeError(
    'CONFIG_INVALID',
    `Redis may evict the bot's queue keys (its maxmemory-policy is ${policy.slice(0, 40)}); the ` +
      'bot needs maxmemory-policy noeviction. Set it in redis.conf (or CONFIG SET ' +
      'maxmemory-policy noeviction) and start the bot again.',
  );
}

/** Options for {@link RedisState}. */
export interface RedisStateOptions {
  /** The prefix of this bridge's queues (one bridge process per prefix). */
  readonly prefix: string;
  readonly logger: Logger;
  /**
   * Rebuilds in Redis what the bridge store says should be there. Called when Redis is found
   * empty (after a restart without persistence); until it succeeds the sentinel stays unset, so
   * the next reconnection (or check) calls it again.
   */
  readonly rebuild: () => Promise<void>;
  /** Shown in the log lines (an address without the password). */
  readonly redis?: string;
  /** How often the sentinel is checked besides on reconnection. @defaultValue 30000 */
  readonly checkEveryMs?: number;
}

/**
 * Watches the queues' shared connection. Listens to ioredis' `error`, `close` and `ready`, so an
 * outage is two log lines however many retries it takes, and a Redis that came back empty is
 * refilled from the durable store.
 *
 * @example
 * ```ts
 * const state = new RedisState(connection, { prefix, logger, rebuild: () => engine.rebuild() });
 * await state.start();
 * if (!state.up) return; // skip logging a queue error: the outage is logged once already
 * ```
 */
export class RedisState {
  readonly #connection: Redis;
  readonly #options: RedisStateOptions;
  readonly #value = toBase64url(randomBytes(12));
  #up = true;
  #checking: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(connection: Redis, options: RedisStateOptions) {
    this.#connection = connection;
    this.#options = options;
  }

  /** Whether Redis answered last time (false from the first error until it is ready again). */
  get up(): boolean {
    return this.#up;
  }

  /**
   * Sets the sentinel (Redis holds nothing of this prefix's from before, or the caller has just
   * rebuilt it) and starts watching.
   */
  async start(): Promise<void> {
    await this.#connection.set(sentinelKey(this.#options.prefix), this.#value);
    this.#connection.on('error', this.#onDown);
    this.#connection.on('close', this.#onDown);
    this.#connection.on('ready', this.#onReady);
    const every = this.#options.checkEveryMs ?? 30_000;
    this.#timer = setInterval(() => {
      if (this.#up) void this.check();
    }, every);
    this.#timer.unref();
  }

  /**
   * Looks for the sentinel now; when it is gone, rebuilds, then sets it again. Concurrent calls
   * share one run (and one more follows if asked for meanwhile).
   */
  async check(): Promise<void> {
    if (this.#checking !== undefined) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = this.#checkOnce().finally(() => {
      this.#checking = undefined;
    });
    await this.#checking;
    if (this.#again && !this.#closed) {
      this.#again = false;
      await this.check();
    }
  }

  async #checkOnce(): Promise<void> {
    const key = sentinelKey(this.#options.prefix);
    try {
      if ((await this.#connection.exists(key)) === 1) return;
      this.#options.logger.warn('bridge.redis_emptied', this.#fields());
      await this.#options.rebuild();
      await this.#connection.set(key, this.#value);
      this.#options.logger.info('bridge.redis_rebuilt', this.#fields());
    } catch (error) {
      // Redis went away again mid-way: the next `ready` checks again.
      const code = (error as { code?: unknown }).code;
      this.#options.logger.warn('bridge.redis_rebuild_failed', {
        ...this.#fields(),
        code: typeof code === 'string' ? code : 'ERROR',
      });
    }
  }

  /** Stops watching (the connection itself is the caller's). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#connection.removeListener('error', this.#onDown);
    this.#connection.removeListener('close', this.#onDown);
    this.#connection.removeListener('ready', this.#onReady);
  }

  #fields(): { redis?: string } {
    return this.#options.redis === undefined ? {} : { redis: this.#options.redis };
  }

  readonly #onDown = (error?: unknown): void => {
    if (!this.#up || this.#closed) return;
    this.#up = false;
    const code = (error as { code?: unknown } | undefined)?.code;
    this.#options.logger.warn('bridge.redis_lost', {
      ...this.#fields(),
      code: typeof code === 'string' ? code : 'CLOSED',
      retrying: true,
    });
  };

  readonly #onReady = (): void => {
    if (this.#up || this.#closed) return;
    this.#up = true;
    this.#options.logger.info('bridge.redis_back', this.#fields());
    void this.check();
  };
}
