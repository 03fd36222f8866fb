/**
 * Engine clients for unit tests: each komrade has its own SQLite local store in a temporary folder
 * and talks to one shared in-memory Operator, all on one clock the test moves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import {
  KomradeClient,
  SqliteLocalStore,
  type KeyHolder,
  type LocalStore,
  type OperatorClient,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { FakeOperator } from './fake-operator.js';

export interface TestKomrade {
  readonly name: string;
  readonly client: KomradeClient;
  readonly keys: IdentityKeys;
  readonly store: LocalStore;
  readonly storageKey: Uint8Array;
}

export interface TestKomradeOptions {
  /** @defaultValue fresh keys */
  readonly keys?: IdentityKeys;
  /** @defaultValue a fresh random key */
  readonly storageKey?: Uint8Array;
  /** @defaultValue the shared fake Operator */
  readonly operator?: OperatorClient;
  /** @defaultValue `'self'` */
  readonly keyHolder?: KeyHolder;
  /** Retries go on at once instead of waiting. @defaultValue false */
  readonly noWait?: boolean;
}

/** The state of one test; fresh before each. */
export class ClientWorld {
  dir = '';
  /** What the fake Operator and every client read as now; tests move it. */
  clock = 0;
  operator = new FakeOperator(() => this.clock);
  /** Every pause a fan-out asked for, in order. */
  readonly pauses: number[] = [];
  readonly #stores: LocalStore[] = [];

  /** A client named `name` with its own store (`<name>.db` in {@link ClientWorld.dir}). */
  komrade(name: string, options: TestKomradeOptions = {}): TestKomrade {
    const storageKey = options.storageKey ?? randomBytes(32);
    const store = new SqliteLocalStore(join(this.dir, `${name}.db`), { storageKey });
    this.#stores.push(store);
    const keys = options.keys ?? generateIdentityKeys();
    return { name, client: this.client(store, keys, options), keys, store, storageKey };
  }

  /** {@link ClientWorld.komrade}, registered under `name`. */
  async registered(name: string, options: TestKomradeOptions = {}): Promise<TestKomrade> {
    const k = this.komrade(name, options);
    await k.client.register(name);
    return k;
  }

  /** Another client over an existing store and keys. */
  client(store: LocalStore, keys: IdentityKeys, options: TestKomradeOptions = {}): KomradeClient {
    return new KomradeClient({
      operator: options.operator ?? this.operator,
      store,
      keys,
      now: () => this.clock,
      keyHolder: options.keyHolder ?? 'self',
      ...(options.noWait === true ? { sleep: () => Promise.resolve() } : {}),
      // A fan-out's pauses are recorded, not waited (the test moves the clock itself).
      pause: (ms) => {
        this.pauses.push(ms);
        return Promise.resolve();
      },
    });
  }

  start(prefix: string): void {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.clock = 1_700_000_000_000;
    this.operator = new FakeOperator(() => this.clock);
    this.pauses.length = 0;
  }

  stop(): void {
    for (const store of this.#stores.splice(0)) store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A {@link ClientWorld} made fresh before each test of the file (then `tune`d) and cleaned up
 * after it.
 */
export function useClientWorld(
  prefix: string,
  tune: (operator: FakeOperator) => void = () => undefined,
): ClientWorld {
  const world = new ClientWorld();
  beforeEach(() => {
    world.start(prefix);
    tune(world.operator);
  });
  afterEach(() => {
    world.stop();
  });
  return world;
}
