/**
 * A test file's real Operator process, and komrades whose keys are on their own device (a
 * `KomradeClient` with a SQLite store each) talking to it over loopback HTTP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import {
  HttpOperatorClient,
  KomradeClient,
  SqliteLocalStore,
  type KeyHolder,
  type OperatorClient,
  type RequestSigner,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';

/** A komrade's client, its own HTTP client and store, and what signs its requests. */
export interface HttpKomrade {
  readonly name: string;
  readonly client: KomradeClient;
  readonly http: HttpOperatorClient;
  readonly keys: IdentityKeys;
  readonly store: SqliteLocalStore;
  readonly signer: RequestSigner;
}

/** Options for {@link useOperatorKomrades}. */
export interface OperatorKomradesOptions {
  /** The Operator's registration proof-of-work difficulty. */
  readonly powBits: number;
  /** How the temporary folder of the stores is named. */
  readonly tempPrefix: string;
  /** Connections per origin of the shared HTTP agent. @defaultValue undici's */
  readonly connections?: number;
}

/** What {@link useOperatorKomrades} gives a test file; its functions may be destructured. */
export interface OperatorKomrades {
  /** The Operator process: read it inside tests and hooks only (it starts in `beforeAll`). */
  readonly operator: OperatorProcess;
  /** A new HTTP client for the Operator at `url` (by default this file's), on the shared agent. */
  readonly http: (url?: string) => HttpOperatorClient;
  /** A new store in the temporary folder, closed after the file's tests. */
  readonly storeFor: (file: string) => SqliteLocalStore;
  /** A client on `operator` with this store and keys. */
  readonly clientOf: (
    operator: OperatorClient,
    store: SqliteLocalStore,
    keys: IdentityKeys,
    keyHolder?: KeyHolder,
  ) => KomradeClient;
  /** A client for the Operator at `url`, with a new store in `file` (nothing registered). */
  readonly komradeAt: (
    url: string,
    file: string,
    keys?: IdentityKeys,
    keyHolder?: KeyHolder,
  ) => Omit<HttpKomrade, 'name' | 'signer'>;
  /** A name no other call in this file returns: `prefix_N_PID`. */
  readonly unique: (prefix: string) => string;
  /** Registers a fresh komrade with a {@link OperatorKomrades.unique} name at this file's Operator. */
  readonly registered: (prefix: string, keyHolder?: KeyHolder) => Promise<HttpKomrade>;
}

/**
 * Starts an Operator process and a shared HTTP agent in `beforeAll`, and in `afterAll` closes
 * every store made here, the agent and the Operator, and removes the temporary folder.
 */
export function useOperatorKomrades(options: OperatorKomradesOptions): OperatorKomrades {
  let operator: OperatorProcess | undefined;
  let dispatcher: Agent | undefined;
  let dir: string | undefined;
  const stores: SqliteLocalStore[] = [];
  const started = () => {
    if (operator === undefined || dispatcher === undefined || dir === undefined) {
      throw new Error('The Operator is started in beforeAll.');
    }
    return { operator, dispatcher, dir };
  };

  beforeAll(async () => {
    operator = await startOperatorProcess({ powBits: options.powBits });
    dispatcher = new Agent(
      options.connections === undefined ? {} : { connections: options.connections },
    );
    dir = mkdtempSync(join(tmpdir(), options.tempPrefix));
  });
  afterAll(async () => {
    for (const store of stores) store.close();
    await dispatcher?.close();
    await operator?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const http = (url = started().operator.url) =>
    new HttpOperatorClient({ baseUrl: url, dispatcher: started().dispatcher, now: Date.now });
  const storeFor = (file: string) => {
    const store = new SqliteLocalStore(join(started().dir, `${file}.db`), {
      storageKey: randomBytes(32),
    });
    stores.push(store);
    return store;
  };
  const clientOf = (
    operatorClient: OperatorClient,
    store: SqliteLocalStore,
    keys: IdentityKeys,
    keyHolder: KeyHolder = 'self',
  ) => new KomradeClient({ operator: operatorClient, store, keys, now: Date.now, keyHolder });
  const komradeAt = (
    url: string,
    file: string,
    keys = generateIdentityKeys(),
    keyHolder: KeyHolder = 'self',
  ) => {
    const store = storeFor(file);
    const operatorClient = http(url);
    const client = clientOf(operatorClient, store, keys, keyHolder);
    return { client, http: operatorClient, keys, store };
  };
  let counter = 0;
  const unique = (prefix: string) => `${prefix}_${++counter}_${process.pid % 1000}`;

  return {
    get operator() {
      return started().operator;
    },
    http,
    storeFor,
    clientOf,
    komradeAt,
    unique,
    registered: async (prefix, keyHolder = 'self') => {
      const name = unique(prefix);
      const k = komradeAt(started().operator.url, name, generateIdentityKeys(), keyHolder);
      await k.client.register(name);
      return { ...k, name, signer: { name, signSecret: k.keys.signSecret } };
    },
  };
}
