/**
 * Two (or more) real `KomradeClient`s against a real Operator in this process (real HTTP, real
 * SQLite on both sides) for the forward-secrecy tests: each komrade's requests are counted at its
 * HTTP dispatcher, every sealed letter it hands to the Operator is recorded (a wire recording),
 * its Operator client can be bent per test, and its store can be closed, copied, replaced and
 * reopened with a fresh client (a restart, a restore).
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import {
  HttpOperatorClient,
  KomradeClient,
  SqliteLocalStore,
  type OperatorClient,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { startTestOperator, type TestOperator } from './operator-fixture.js';

/** An undici agent that notes the path of every request it sends (not the anonymous ones). */
export class CountingAgent extends Agent {
  readonly paths: string[] = [];

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.paths.push(options.path);
    return super.dispatch(options, handler);
  }

  count(path: string): number {
    return this.paths.filter((p) => p === path).length;
  }
}

/** A sealed letter as it left a komrade for the Operator. */
export interface SentRecord {
  readonly to: string;
  readonly sealed: Uint8Array;
}

/** Copies an SQLite file with its -wal and -shm files (those that exist) to `to`. */
export function copySqlite(from: string, to: string): void {
  for (const suffix of ['', '-wal', '-shm']) {
    rmSync(to + suffix, { force: true });
    if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
  }
}

/** One komrade: keys, store file and storage key, and a client that can be replaced. */
export class FsKomrade {
  readonly name: string;
  readonly keys: IdentityKeys = generateIdentityKeys();
  readonly storageKey: Uint8Array = randomBytes(32);
  readonly path: string;
  /** Operations replaced for this komrade's client; read on every call, so tests may change it. */
  readonly overrides: Partial<OperatorClient> = {};
  /** Every sealed letter this komrade handed to the Operator, in order. */
  readonly sent: SentRecord[] = [];
  /** Whose prekey bundle this komrade fetched, every time (they go on anonymous circuits). */
  readonly bundleFetches: string[] = [];
  readonly agent = new CountingAgent();
  readonly #world: ForwardSecrecyWorld;
  store!: SqliteLocalStore;
  client!: KomradeClient;
  /** The Operator client as the komrade's client sees it (bent and recording). */
  operator!: OperatorClient;
  /** The plain HTTP client underneath (for overrides that pass a call on). */
  http!: HttpOperatorClient;

  constructor(world: ForwardSecrecyWorld, name: string) {
    this.#world = world;
    this.name = name;
    this.path = join(world.dir, `${name}.db`);
    this.open();
  }

  /** Opens the store file and a new client over it (a start, or a restart after `close`). */
  open(): void {
    const http = new HttpOperatorClient({
      baseUrl: this.#world.operator.url,
      dispatcher: this.agent,
      now: Date.now,
    });
    this.http = http;
    const overrides = this.overrides;
    const sent = this.sent;
    const bundleFetches = this.bundleFetches;
    this.operator = new Proxy(http, {
      get(target, property) {
        if (Object.hasOwn(overrides, property)) return Reflect.get(overrides, property) as unknown;
        if (property === 'sendAnonymously') {
          return (letter: Parameters<OperatorClient['sendAnonymously']>[0]) => {
            sent.push({ to: letter.to, sealed: Uint8Array.from(letter.sealed) });
            return target.sendAnonymously(letter);
          };
        }
        if (property === 'fetchPrekeyBundle') {
          return (request: Parameters<OperatorClient['fetchPrekeyBundle']>[0]) => {
            bundleFetches.push(request.name);
            return target.fetchPrekeyBundle(request);
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    });
    this.store = new SqliteLocalStore(this.path, { storageKey: this.storageKey });
    this.client = new KomradeClient({
      operator: this.operator,
      store: this.store,
      keys: this.keys,
      now: Date.now,
      keyHolder: 'self',
    });
  }

  /** Publishes at most `count` one-time prekeys per upload from now on (0: only last resort). */
  limitOneTimePrekeys(count: number): void {
    this.overrides.uploadPrekeys = (signer, upload) => {
      const { signedPrekey, kyberPrekey, oneTimePrekeys } = upload;
      const kept = oneTimePrekeys?.slice(0, count) ?? [];
      return this.http.uploadPrekeys(signer, {
        ...(signedPrekey === undefined ? {} : { signedPrekey }),
        ...(kyberPrekey === undefined ? {} : { kyberPrekey }),
        ...(kept.length === 0 ? {} : { oneTimePrekeys: kept }),
      });
    };
  }

  /** Closes the store (the client over it is dropped). */
  close(): void {
    this.store.close();
  }

  /** Closes and reopens the store, with a new client: a restart of this komrade's program. */
  restart(): void {
    this.close();
    this.open();
  }

  /** The letters in the inbox, as text. */
  inboxTexts(): string[] {
    return this.client.inbox().map((l) => l.text);
  }

  /** What this komrade handed to the Operator for `to`, in order. */
  sentTo(to: string): Uint8Array[] {
    return this.sent.filter((s) => s.to === to).map((s) => s.sealed);
  }
}

/** An Operator in a data folder of its own, and the komrades using it. */
export class ForwardSecrecyWorld {
  readonly dir: string;
  readonly dataDir: string;
  readonly operator: TestOperator;
  readonly #komrades: FsKomrade[] = [];
  #counter = 0;

  private constructor(dir: string, dataDir: string, operator: TestOperator) {
    this.dir = dir;
    this.dataDir = dataDir;
    this.operator = operator;
  }

  /** Starts an Operator (SQLite data folder under a fresh temporary folder). */
  static async start(config: readonly string[] = []): Promise<ForwardSecrecyWorld> {
    const dir = mkdtempSync(join(tmpdir(), 'komrade-forward-secrecy-'));
    const dataDir = join(dir, 'operator-data');
    const operator = await startTestOperator({
      powBits: 0,
      dataDir,
      config: ['tokens: { perDay: 500 }', ...config],
    });
    return new ForwardSecrecyWorld(dir, dataDir, operator);
  }

  /** A komrade named `<prefix>_<n>`, not registered yet. */
  komrade(prefix: string): FsKomrade {
    const komrade = new FsKomrade(this, `${prefix}_${++this.#counter}`);
    this.#komrades.push(komrade);
    return komrade;
  }

  /** {@link ForwardSecrecyWorld.komrade}, registered (its prekeys published). */
  async registered(prefix: string): Promise<FsKomrade> {
    const komrade = this.komrade(prefix);
    await komrade.client.register(komrade.name);
    return komrade;
  }

  /** How many letters wait for `name` at the Operator. */
  async waiting(name: string): Promise<number> {
    return (await this.operator.store.fetch(name, 1_000, Date.now())).letters.length;
  }

  /**
   * Puts `sealed` in `to`'s mailbox directly in the Operator's store, under a new id: what an
   * Operator replaying a letter does.
   */
  async deposit(to: string, sealed: Uint8Array): Promise<Uint8Array> {
    const now = Date.now();
    const [id] = await this.operator.store.deposit([{ to, sealed }], {
      receivedAt: now,
      expiresAt: now + 86_400_000,
      quota: 10_000,
    });
    if (id === undefined) throw new Error('nothing deposited');
    return id;
  }

  async close(): Promise<void> {
    for (const komrade of this.#komrades) {
      komrade.close();
      await komrade.agent.close();
    }
    await this.operator.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `letters` in a fixed order that is never the one given (for two or more): a shuffle. */
export function shuffled<T>(letters: readonly T[]): T[] {
  if (letters.length < 2) return [...letters];
  // Odd positions backwards, then even ones backwards: the first letter always comes last.
  const odd = letters.filter((_, i) => i % 2 === 1).reverse();
  const even = letters.filter((_, i) => i % 2 === 0).reverse();
  return [...odd, ...even];
}
