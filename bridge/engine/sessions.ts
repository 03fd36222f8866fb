/**
 * Identity sessions: each identity the bridge holds, opened once as a client of its own (its
 * letter store, its Operator connection), from a {@link SessionFactory} the composition root
 * supplies.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KomradeError } from '../../common/errors/index.js';
import type { AdapterKeyHolder } from '../../common/wire/index.js';
import {
  KomradeClient,
  SqliteLocalStore,
  type OperatorClient,
  type RequestSigner,
} from '../../client/index.js';
import type { BridgeStore, HeldIdentity } from '../identity-vault/bridge-store.js';

/** One identity, opened: its client, and what the engine's parts use besides. */
export interface Session {
  readonly held: HeldIdentity;
  readonly local: SqliteLocalStore;
  readonly operator: OperatorClient;
  readonly client: KomradeClient;
}

/** Opens identities and knows where their letter stores live. */
export interface SessionFactory {
  /** Opens (creating when absent) the letter store of `held` and a client on it. */
  open(held: HeldIdentity): Session;
  /** The file of an identity's letter store: backups copy it, restores write it. */
  storePath(id: string): string;
  /** Deletes an identity's letter store (closed first by the caller). */
  destroy(id: string): void;
}

/** What {@link sqliteSessionFactory} needs. */
export interface SqliteSessionDeps {
  /** The adapter's data folder; letter stores go under `identities/`. */
  readonly dataDir: string;
  /** Each identity's own Operator client (its own Tor circuit), by its opaque id. */
  readonly operatorFor: (isolationKey: string) => OperatorClient;
  readonly keyHolder: AdapterKeyHolder;
  readonly now: () => number;
}

/** The real factory: one SQLite letter store per identity, `<dataDir>/identities/<id>.db`. */
export function sqliteSessionFactory(deps: SqliteSessionDeps): SessionFactory {
  const folder = join(deps.dataDir, 'identities');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const storePath = (id: string) => join(folder, `${id}.db`);
  return {
    open(held) {
      const local = new SqliteLocalStore(storePath(held.id), { storageKey: held.storageKey });
      const operator = deps.operatorFor(held.id);
      const client = new KomradeClient({
        operator,
        store: local,
        keys: held.keys,
        now: deps.now,
        keyHolder: deps.keyHolder,
      });
      return { held, local, operator, client };
    },
    storePath,
    destroy(id) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(storePath(id) + suffix, { force: true });
    },
  };
}

/** The sessions of the identities in a {@link BridgeStore}, opened on first use and kept. */
export class Sessions {
  readonly #store: BridgeStore;
  readonly #factory: SessionFactory;
  readonly #open = new Map<string, Session>();

  constructor(store: BridgeStore, factory: SessionFactory) {
    this.#store = store;
    this.#factory = factory;
  }

  get factory(): SessionFactory {
    return this.#factory;
  }

  /** The session of an identity; `undefined` when it is not (or no longer) held. */
  get(id: string): Session | undefined {
    const cached = this.#open.get(id);
    if (cached !== undefined) return cached;
    const held = this.#store.identity(id);
    if (held === undefined) return undefined;
    const session = this.#factory.open(held);
    this.#open.set(id, session);
    return session;
  }

  /** @throws `KEYSTORE_MISSING` when the identity is not held */
  must(id: string): Session {
    const session = this.get(id);
    if (session === undefined) {
      throw new KomradeError('KEYSTORE_MISSING', 'There is no identity here for you.');
    }
    return session;
  }

  /** The session of the identity registered here as `name`, if any. */
  named(name: string): Session | undefined {
    const id = this.#store.identityNamed(name);
    return id === undefined ? undefined : this.get(id);
  }

  /** Records a registered name in the store and the open session. */
  setName(id: string, name: string): void {
    this.#store.setName(id, name);
    const session = this.#open.get(id);
    if (session !== undefined) this.#open.set(id, { ...session, held: { ...session.held, name } });
  }

  /** Closes an identity's session and deletes it with its letter store. Irreversible. */
  destroy(id: string): void {
    this.#open.get(id)?.local.close();
    this.#open.delete(id);
    this.#store.deleteIdentity(id);
    this.#factory.destroy(id);
  }

  closeAll(): void {
    for (const session of this.#open.values()) session.local.close();
    this.#open.clear();
  }
}

/**
 * How an identity signs its requests to the Operator.
 * @throws `NOT_REGISTERED` before it registered a name
 */
export function signerOf(session: Session): RequestSigner {
  const own = session.local.ownReceipt();
  if (own === undefined) {
    throw new KomradeError('NOT_REGISTERED', 'You have not registered a name yet.');
  }
  return { name: own.name, signSecret: session.held.keys.signSecret };
}
