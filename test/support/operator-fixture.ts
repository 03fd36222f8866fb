/** An Operator in this process over real HTTP and a real SQLite store, for integration tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsonLogger, silentLogger, type Logger } from '../../common/logging/index.js';
import {
  SqliteStore,
  createOperatorServer,
  loadOperatorKeys,
  parseOperatorConfig,
  type OperatorServer,
  type SessionTable,
} from '../../operator/index.js';

export interface TestOperatorOptions {
  readonly powBits: number;
  /** Reused as is (and left in place on close); a fresh temporary folder when absent. */
  readonly dataDir?: string;
  /** Settings of the `http` section besides `port: 0`, e.g. `'bodyTimeoutSeconds: 1'`. */
  readonly http?: string;
  /** Further whole config lines, e.g. `'feed: { pageSize: 2 }'`. */
  readonly config?: readonly string[];
  readonly logger?: Logger;
  readonly now?: () => number;
  /** The Operator's mailbox sessions (a test may make it forget them, as a restart does). */
  readonly sessions?: SessionTable;
}

export interface TestOperator {
  readonly dataDir: string;
  readonly store: SqliteStore;
  readonly server: OperatorServer;
  readonly url: string;
  /** Stops the server, closes the store and removes a folder it made. */
  readonly close: () => Promise<void>;
}

/** Starts an Operator listening on a free port. */
export async function startTestOperator(options: TestOperatorOptions): Promise<TestOperator> {
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'komrade-operator-'));
  const config = parseOperatorConfig(
    [
      `http: { port: 0${options.http === undefined ? '' : `, ${options.http}`} }`,
      `store: { dataDir: ${JSON.stringify(dataDir)} }`,
      `registration: { powBits: ${options.powBits} }`,
      ...(options.config ?? []),
    ].join('\n'),
  );
  const store = new SqliteStore(join(dataDir, 'operator.db'));
  const keys = loadOperatorKeys({ dataDir, logger: silentLogger });
  const server = createOperatorServer({
    config,
    store,
    keys,
    logger: options.logger ?? silentLogger,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.sessions === undefined ? {} : { sessions: options.sessions }),
  });
  const url = await server.listen();
  return {
    dataDir,
    store,
    server,
    url,
    close: async () => {
      await server.close();
      await store.close();
      if (owned) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An `info` logger that keeps every line it writes in `lines`. */
export function collectingLogger(lines: string[]): Logger {
  return createJsonLogger({
    level: 'info',
    write: (line) => {
      lines.push(line);
    },
  });
}
