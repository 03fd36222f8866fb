/**
 * Starts a private `redis-server` on a free loopback port with a temporary data folder (append-only
 * persistence on), and can restart it on the same folder and port: the harness for queue tests.
 * A missing `redis-server` binary is a hard failure, never a skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** A running (or restartable) Redis server owned by one test file. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** A fresh ioredis client suited to BullMQ workers (`maxRetriesPerRequest: null`). */
  connect(): Redis;
  /** SIGTERM (Redis writes its append-only file), then wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /**
   * Starts it again on the same port and folder; data written before is loaded back (with
   * persistence).
   */
  start(): Promise<void>;
  /** Every key, for leak scans. */
  allKeys(): Promise<string[]>;
  /** Stops the server and removes its folder. */
  cleanup(): Promise<void>;
}

/** A unique prefix for one test's queues and keys: `test-<uuid>`. */
export const testPrefix = (): string => `test-${randomUUID()}`;

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolvePort(port);
      });
    });
  });
}

function assertBinary(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed: the queue tests need a real Redis (apt-get install -y redis-server).',
    );
  }
}

async function waitUntilReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const info = await client.info('persistence');
      if (/loading:0/.test(info)) return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Options for {@link startRedisServer}. */
export interface RedisServerOptions {
  /**
   * Append-only persistence; without it a restart comes back empty, like a Redis run with the
   * stock Debian settings after a crash. @defaultValue true
   */
  readonly persistence?: boolean;
}

/**
 * Starts `redis-server` with persistence (`appendonly yes`, fsync always) in a temp folder.
 * @throws Error when redis-server is missing or does not start
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const appendOnly = options.persistence === false ? 'no' : 'yes';
  assertBinary();
  const dataDir = await mkdtemp(join(tmpdir(), 'komrade-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const clients: Redis[] = [];

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dataDir,
        '--appendonly',
        appendOnly,
        '--appendfsync',
        'always',
        '--save',
        '',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    exited = new Promise((resolveExit) => {
      proc.once('exit', () => {
        resolveExit();
      });
    });
    const reap = () => proc.kill('SIGKILL');
    process.once('exit', reap);
    void exited.then(() => process.removeListener('exit', reap));
    await waitUntilReady(port, 10_000);
  };

  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill(name);
    }
    await exited;
  };

  await start();
  return {
    host: '127.0.0.1',
    port,
    dataDir,
    connect: () => {
      const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    start,
    allKeys: async () => {
      const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
      try {
        return await client.keys('*');
      } finally {
        client.disconnect();
      }
    },
    cleanup: async () => {
      for (const client of clients) client.disconnect();
      await signal('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Dumps every key's value as text (strings, hashes, lists, sets, sorted sets, streams). */
export async function dumpRedis(server: RedisServer): Promise<string> {
  const client = new Redis({ host: server.host, port: server.port, maxRetriesPerRequest: 1 });
  try {
    const parts: string[] = [];
    for (const key of await client.keys('*')) {
      const type = await client.type(key);
      parts.push(key);
      switch (type) {
        case 'string':
          parts.push((await client.getBuffer(key))?.toString('latin1') ?? '');
          break;
        case 'hash':
          parts.push(JSON.stringify(await client.hgetall(key)));
          break;
        case 'list':
          parts.push(JSON.stringify(await client.lrange(key, 0, -1)));
          break;
        case 'set':
          parts.push(JSON.stringify(await client.smembers(key)));
          break;
        case 'zset':
          parts.push(JSON.stringify(await client.zrange(key, 0, -1)));
          break;
        case 'stream':
          parts.push(JSON.stringify(await client.xrange(key, '-', '+')));
          break;
        default:
          break;
      }
    }
    return parts.join('\n');
  } finally {
    client.disconnect();
  }
}
