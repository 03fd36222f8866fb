/**
 * A throwaway PostgreSQL 15 cluster for tests: Debian's `initdb` and `pg_ctl` in a temporary
 * folder, run as the `postgres` user (initdb refuses root, and tests run as root here and in CI),
 * listening on a free loopback port with its unix socket inside that folder, fsync on (durability
 * is tested). Databases are made per test file or per test from `template0`.
 */
import { spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Where Debian's `postgresql-15` package puts its server binaries. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

const INSTALL_HINT = 'install it with `apt-get install -y postgresql-15`';

/** A running cluster; {@link PostgresCluster.stop} removes every trace of it. */
export interface PostgresCluster {
  /** The cluster's folder (its data folder is `dataDir`). */
  readonly dir: string;
  /** The data folder: heap files under `base/`, WAL under `pg_wal/`. */
  readonly dataDir: string;
  readonly port: number;
  /** `postgresql://postgres@127.0.0.1:<port>/<database>` (trust auth, loopback only). */
  connectionString(database: string): string;
  /** Creates an empty database (from `template0`, so nothing leaks from `template1`). */
  createDatabase(name?: string): Promise<string>;
  /** Runs one statement as the superuser on `database` (default `postgres`). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<pg.QueryResult<T>>;
  /**
   * Kills the server as a crash would (`pg_ctl stop -m immediate`: no checkpoint, no flush) and
   * starts it again on the same port; recovery replays the WAL.
   */
  crashAndRestart(): Promise<void>;
  /** Stops the server at once (`-m immediate`) and removes the folder. */
  stop(): Promise<void>;
}

interface Ran {
  readonly code: number | null;
  readonly output: string;
}

/** The uid/gid of the `postgres` user when running as root (initdb refuses root). */
interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/** Runs a command, as `postgres` when we are root; resolves with its exit code and output. */
function run(command: string, args: readonly string[], runAs: RunAs | undefined): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const [file, argv] =
      runAs === undefined
        ? [command, [...args]]
        : ['runuser', ['-u', 'postgres', '--', command, ...args]];
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, output });
    });
  });
}

/** No PG* variable of the caller's may point the tools elsewhere. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG')) env[key] = value;
  }
  env.LC_ALL = 'C';
  return env;
}

/** Fails, with the install hint, when PostgreSQL's binaries are missing (never skips). */
async function requireBinary(path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(path, ['--version'], { stdio: 'ignore' });
    child.once('error', (cause: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `${path} is required for the PostgreSQL store tests (${cause.code ?? 'error'}); ${INSTALL_HINT}`,
          { cause },
        ),
      );
    });
    child.once('exit', () => {
      resolve();
    });
  });
}

/** A port nobody listens on right now (released before the server binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** The `postgres` user's ids, or undefined when we are not root (then we run as ourselves). */
async function postgresUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ran = await run('id', ['-u', 'postgres'], undefined);
  const gid = await run('id', ['-g', 'postgres'], undefined);
  if (ran.code !== 0 || gid.code !== 0) {
    throw new Error(`running as root needs the \`postgres\` user; ${INSTALL_HINT}`);
  }
  return { uid: Number(ran.output.trim()), gid: Number(gid.output.trim()) };
}

let databases = 0;

/**
 * Starts a fresh cluster and waits until it accepts connections.
 * @throws Error with an install hint when PostgreSQL 15 is missing; with the server's log when it
 * does not start (the cleanup's own failure never hides that error)
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const initdb = join(POSTGRES_BIN, 'initdb');
  const pgCtl = join(POSTGRES_BIN, 'pg_ctl');
  await requireBinary(initdb);
  await requireBinary(pgCtl);
  const runAs = await postgresUser();

  const dir = await mkdtemp(join(tmpdir(), 'komrade-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  let started = false;
  const cleanup = async (): Promise<void> => {
    if (started) {
      await run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w'], runAs);
      started = false;
    }
    // A server just killed may still be writing: retry the removal.
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  };

  try {
    if (runAs !== undefined) await chown(dir, runAs.uid, runAs.gid);
    await chmod(dir, 0o700);
    const init = await run(
      initdb,
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '-N'],
      runAs,
    );
    if (init.code !== 0) throw new Error(`initdb failed (${init.code}):\n${init.output}`);
    const port = await freePort();
    const options = [
      `-p ${port}`,
      `-c listen_addresses=127.0.0.1`,
      `-c unix_socket_directories=${dir}`,
      '-c fsync=on',
      '-c synchronous_commit=on',
      '-c full_page_writes=on',
      '-c max_connections=200',
      '-c shared_buffers=32MB',
    ].join(' ');
    const startServer = async (): Promise<void> => {
      const start = await run(
        pgCtl,
        ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', options],
        runAs,
      );
      started = true;
      if (start.code !== 0) {
        const log = await run('cat', [logFile], undefined);
        throw new Error(`pg_ctl start failed (${start.code}):\n${start.output}\n${log.output}`);
      }
    };
    await startServer();
    const connectionString = (database: string): string =>
      `postgresql://postgres@127.0.0.1:${port}/${database}`;
    const query = async <T extends pg.QueryResultRow>(
      sql: string,
      params: unknown[] = [],
      database = 'postgres',
    ): Promise<pg.QueryResult<T>> => {
      const client = new pg.Client({ connectionString: connectionString(database) });
      await client.connect();
      try {
        return await client.query<T>(sql, params);
      } finally {
        await client.end();
      }
    };
    // pg_ctl -w waits for the server; this proves a TCP client gets in too.
    await query('SELECT 1');
    return {
      dir,
      dataDir,
      port,
      connectionString,
      query,
      async createDatabase(name = `komrade_${process.pid}_${++databases}`) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
        await query(`CREATE DATABASE ${name} TEMPLATE template0`);
        return name;
      },
      async crashAndRestart() {
        const stopped = await run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w'], runAs);
        if (stopped.code !== 0) throw new Error(`pg_ctl stop failed:\n${stopped.output}`);
        started = false;
        await startServer();
      },
      stop: cleanup,
    };
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}
