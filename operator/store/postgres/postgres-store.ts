/**
 * The Operator's store on PostgreSQL (the `pg` client), for several Operators sharing one
 * database. Every write is one READ COMMITTED transaction; what must hold across Operators comes
 * from the database: primary keys and unique indexes (names, keys, nonces, spent tokens, a
 * collective's `seq`, post ids) with `ON CONFLICT`, row locks (a mailbox's quota, a name's
 * prekeys, the last reference to a shared body, the log's size) and a per-skeleton advisory lock
 * that the look-alike check and the insert share (a trigger repeats the check under the same
 * lock). Deadlocks and serialization failures are retried a bounded number of times.
 *
 * Order within one store: writes run one after another, in the order they were called, and a
 * read waits for the writes called before it, so each operation sees the ones before it (the
 * port's contract); the concurrency is across Operators, each with its own store. Writes called
 * while a transaction runs share the next one (group commit), each in its own savepoint.
 *
 * Durability: a write's promise resolves after its COMMIT returned, and every connection runs
 * with `synchronous_commit = on`, so the commit is on the server's disk (WAL flushed; with
 * synchronous standbys, on theirs too) by then; {@link PostgresStore.durable} therefore only
 * waits for the writes called before it.
 */
import pg from 'pg';
import { randomBytes } from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import type { Logger } from '../../../common/logging/index.js';
import {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  rootHash,
  type MerkleNodeSource,
} from '../../../common/transparency/index.js';
import {
  ID_BYTES,
  isKeyHolder,
  nameSkeleton,
  receiptLeaf,
  type KeyHolder,
  type KyberPrekey,
  type OneTimePrekey,
  type SignedPrekey,
} from '../../../common/wire/index.js';
import type { NewCollective, StoredCollectiveEvent } from '../collective-store.js';
import type { FeedPosition, StoredPost } from '../feed.js';
import {
  letterTime,
  type DepositOptions,
  type LetterToDeposit,
  type SharedLetterToDeposit,
  type StoredLetter,
} from '../mailbox.js';
import type { OperatorStore } from '../operator-store.js';
import type { HandoutLimit, PrekeyCounts, PrekeysToStore, TakenBundle } from '../prekey-store.js';
import type { LogHead, LogInclusions, LogLeafProof } from '../registry-log.js';
import type { RegisteredKomrade } from '../registry.js';
import type { SpentDeposit, TokenSpend } from '../token-ledger.js';
import { SKELETON_LOCK_CLASS, migratePostgres } from './migrations.js';
import { MAIL_CHANNEL, PostgresMailSignal } from './postgres-mail-signal.js';

/** How to reach the database. */
export interface PostgresStoreOptions {
  /** `postgresql://…`; from the environment, never from a config file. */
  readonly connectionString: string;
  /** Most connections this store opens (default 10). */
  readonly maxConnections?: number;
}

/** The advisory lock (class, key) one sweep round holds, so several Operators sweep in turn. */
const SWEEP_LOCK = [0x6b6d7377, 1] as const; // 'kmsw'

/** Runs a round of work unless another Operator on the database is running one now. */
export interface ExclusiveRound {
  /** `round()`'s result, or `undefined` when another holder has the lock (nothing ran). */
  tryRun<T>(round: () => Promise<T>): Promise<T | undefined>;
}

/** Most writes committed together in one transaction. */
const MAX_GROUP = 64;

/** A write waiting for its group's transaction. */
interface QueuedWrite {
  readonly step: (client: pg.PoolClient) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** How often a transaction that hit a deadlock or serialization failure is tried in all. */
const MAX_ATTEMPTS = 5;

/** PostgreSQL error codes this store acts on. */
const UNIQUE_VIOLATION = '23505';
const RETRYABLE = new Set(['40001', '40P01']);

/** bigint columns (times, counts) as numbers: every value here is far below 2^53. */
const parseInt8 = (value: string): number => Number(value);
const types: pg.CustomTypesConfig = {
  getTypeParser: (id, format): unknown =>
    id === pg.types.builtins.INT8 && format !== 'binary'
      ? parseInt8
      : (pg.types.getTypeParser(id, format) as unknown),
};

type Queryable = Pick<pg.ClientBase, 'query'>;

interface KomradeRow {
  name: string;
  sign_key: Buffer;
  box_key: Buffer;
  key_holder: string;
  ratchet_key: Buffer | null;
  registered_at: number;
  sig: Buffer;
}
interface PrekeyRow {
  id: number;
  public_key: Buffer;
  signature: Buffer;
}
interface LetterRow {
  id: Buffer;
  sealed: Buffer;
  received_at: number;
  body: Buffer | null;
}
interface PostRow {
  id: Buffer;
  author: string;
  posted_at: number;
  expires_at: number;
  signed: Buffer;
  sig: Buffer;
}
interface LogRow extends KomradeRow {
  idx: number;
}

const KOMRADE_COLUMNS = 'name, sign_key, box_key, key_holder, ratchet_key, registered_at, sig';
const POST_COLUMNS = 'id, author, posted_at, expires_at, signed, sig';

const bytes = (buffer: Buffer): Uint8Array =>
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

// The column's CHECK admits only the label's shape; this guards against a hand-edited row.
const keyHolderOf = (value: string): KeyHolder => {
  if (!isKeyHolder(value)) throw new Error('komrades.key_holder holds an unknown value');
  return value;
};

const toKomrade = (row: KomradeRow): RegisteredKomrade => ({
  name: row.name,
  signKey: bytes(row.sign_key),
  boxKey: bytes(row.box_key),
  keyHolder: keyHolderOf(row.key_holder),
  ratchetKey: row.ratchet_key === null ? null : bytes(row.ratchet_key),
  registeredAt: row.registered_at,
  sig: bytes(row.sig),
});

const toPrekey = (row: PrekeyRow): SignedPrekey & KyberPrekey => ({
  id: row.id,
  publicKey: bytes(row.public_key),
  signature: bytes(row.signature),
});

const toPost = (row: PostRow): StoredPost => ({
  id: bytes(row.id),
  author: row.author,
  postedAt: row.posted_at,
  expiresAt: row.expires_at,
  signed: bytes(row.signed),
  sig: bytes(row.sig),
});

/** A spent token's `letter` column for a bundle: it paid for no letter. */
const NO_LETTER = new Uint8Array(0);

const pgCode = (error: unknown): string | undefined =>
  error instanceof pg.DatabaseError ? error.code : undefined;

const lookAlike = () =>
  new KomradeError(
    'NAME_TAKEN',
    'That name looks like an existing or reserved name; choose another.',
  );

/** Throws `BAD_REQUEST` unless `0 ≤ start ≤ end ≤ size` (all safe integers). */
function checkRange(start: number, end: number, size: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end) {
    throw new KomradeError('BAD_REQUEST', 'need 0 ≤ start ≤ end');
  }
  if (end > size) throw new KomradeError('BAD_REQUEST', 'the range is beyond the log');
}

/**
 * Implements every store port on one PostgreSQL database through a connection pool. Open it
 * with {@link PostgresStore.open}, which migrates the schema first.
 */
export class PostgresStore implements OperatorStore {
  readonly #pool: pg.Pool;
  readonly #connectionString: string;
  /**
   * This store's id in its deposits' notifications: random, names nobody, and lets this
   * Operator's listener skip its own deposits.
   */
  readonly #instance = Buffer.from(randomBytes(8)).toString('hex');
  /** Settles when every write called so far has settled; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  /** Writes waiting for the next group. */
  readonly #queue: QueuedWrite[] = [];
  #draining = false;
  #closed = false;

  private constructor(pool: pg.Pool, connectionString: string) {
    this.#pool = pool;
    this.#connectionString = connectionString;
  }

  /**
   * Connects, migrates the schema (once, even when several Operators start together) and
   * returns the store.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      // Answered writes must be on disk: never inherit a server default of off.
      options: '-c synchronous_commit=on',
      types,
    });
    // An idle connection the server dropped: the next query fails and says so; no crash here.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresStore(pool, options.connectionString);
  }

  /**
   * Runs `step` after every write called before it. Writes queued while a transaction runs go
   * together in the next one (group commit: one WAL flush for all), each in a savepoint, so a
   * refused write undoes only itself; each promise settles after the COMMIT. A deadlock or
   * serialization failure inside a group rolls the group back and runs its writes one
   * transaction each, with retries.
   */
  #write<T>(step: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    const done = new Promise<T>((resolve, reject) => {
      this.#queue.push({
        step,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
    });
    // Groups run in order, so the newest write settles last.
    this.#tail = done.then(
      () => undefined,
      () => undefined,
    );
    this.#drain();
    return done;
  }

  /** Runs the queued writes group after group until none is left. */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    void (async () => {
      try {
        while (this.#queue.length > 0) await this.#runGroup(this.#queue.splice(0, MAX_GROUP));
      } finally {
        this.#draining = false;
      }
    })();
  }

  async #runGroup(group: readonly QueuedWrite[]): Promise<void> {
    if (group.length === 1) {
      const [only] = group as [QueuedWrite];
      await this.#transaction(only.step).then(only.resolve, only.reject);
      return;
    }
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      for (const write of group) write.reject(error);
      return;
    }
    let broken: Error | undefined;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    let failure: { error: unknown } | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      for (const write of group) {
        await client.query('SAVEPOINT write');
        try {
          outcomes.push({ ok: true, value: await write.step(client) });
          await client.query('RELEASE SAVEPOINT write');
        } catch (error) {
          if (RETRYABLE.has(pgCode(error) ?? '')) throw error;
          await client.query('ROLLBACK TO SAVEPOINT write');
          await client.query('RELEASE SAVEPOINT write');
          outcomes.push({ ok: false, error });
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      failure = { error };
      try {
        await client.query('ROLLBACK');
      } catch (rollback) {
        broken = rollback as Error;
      }
    } finally {
      client.release(broken);
    }
    if (failure !== undefined) {
      if (!RETRYABLE.has(pgCode(failure.error) ?? '')) {
        for (const write of group) write.reject(failure.error);
        return;
      }
      // A deadlock with another Operator: one transaction each, as without grouping.
      for (const write of group)
        await this.#transaction(write.step).then(write.resolve, write.reject);
      return;
    }
    for (const [i, write] of group.entries()) {
      const outcome = outcomes[i];
      if (outcome?.ok === true) write.resolve(outcome.value);
      else write.reject(outcome?.error);
    }
  }

  /** Runs `query` once every write called before it has settled. */
  #read<T>(query: (db: Queryable) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    return this.#tail.then(() => query(this.#pool));
  }

  async #transaction<T>(step: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        const result = await step(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollback) {
          // A connection that cannot roll back is not handed to anyone else.
          broken = rollback as Error;
        }
        if (attempt < MAX_ATTEMPTS && RETRYABLE.has(pgCode(error) ?? '')) continue;
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  durable(): Promise<void> {
    return this.#tail;
  }

  /**
   * A listener for deposits made through other stores (other Operators) on this database; see
   * {@link PostgresMailSignal}. Each call gives a new listener with its own connection.
   */
  mailSignal(logger?: Logger): PostgresMailSignal {
    return new PostgresMailSignal({
      connectionString: this.#connectionString,
      self: this.#instance,
      ...(logger === undefined ? {} : { logger }),
    });
  }

  /**
   * Sweep rounds that run on one Operator at a time: a session advisory lock, tried (never
   * waited for) on a connection held for the round, released after it; a crashed holder's
   * lock goes with its connection.
   */
  readonly sweepLock: ExclusiveRound = {
    tryRun: async <T>(round: () => Promise<T>): Promise<T | undefined> => {
      if (this.#closed) throw new Error('store is closed');
      const client = await this.#pool.connect();
      let broken: Error | undefined;
      try {
        const { rows } = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock($1, $2) AS locked',
          [...SWEEP_LOCK],
        );
        if (rows[0]?.locked !== true) return undefined;
        try {
          return await round();
        } finally {
          try {
            await client.query('SELECT pg_advisory_unlock($1, $2)', [...SWEEP_LOCK]);
          } catch (error) {
            // A connection that may still hold the lock is closed, which releases it.
            broken = error as Error;
          }
        }
      } finally {
        client.release(broken);
      }
    },
  };

  /** Tells every listening Operator, at commit, that mail was deposited (no names). */
  async #signalMail(client: Queryable): Promise<void> {
    await client.query('SELECT pg_notify($1, $2)', [MAIL_CHANNEL, this.#instance]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#tail;
    } finally {
      await this.#pool.end();
    }
  }

  // ——— Registry and its log ———

  /** Takes the skeleton's advisory lock, then throws `NAME_TAKEN` when the name is not free. */
  async #claimName(
    client: Queryable,
    name: string,
    skeleton: string,
    taken: { byKomrade: string; byCollective: string },
  ): Promise<void> {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
      SKELETON_LOCK_CLASS,
      skeleton,
    ]);
    const { rows } = await client.query<{ kind: string; exact: boolean }>(
      `SELECT 'komrade' AS kind, name = $1 AS exact FROM komrades WHERE name = $1 OR skeleton = $2
       UNION ALL
       SELECT 'collective', name = $1 FROM collectives WHERE name = $1 OR skeleton = $2`,
      [name, skeleton],
    );
    const exact = rows.find((row) => row.exact);
    if (exact !== undefined) {
      throw new KomradeError(
        'NAME_TAKEN',
        exact.kind === 'komrade' ? taken.byKomrade : taken.byCollective,
      );
    }
    if (rows.length > 0) throw lookAlike();
  }

  register(komrade: RegisteredKomrade): Promise<void> {
    return this.#write(async (client) => {
      const skeleton = nameSkeleton(komrade.name);
      await this.#claimName(client, komrade.name, skeleton, {
        byKomrade: 'That name is already registered.',
        byCollective: 'That name is taken by a collective.',
      });
      try {
        await client.query(
          `INSERT INTO komrades (${KOMRADE_COLUMNS}, skeleton) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            komrade.name,
            komrade.signKey,
            komrade.boxKey,
            komrade.keyHolder,
            komrade.ratchetKey,
            komrade.registeredAt,
            komrade.sig,
            skeleton,
          ],
        );
      } catch (error) {
        // The name was checked under its lock, so the look-alike trigger (no constraint name)
        // should never fire here; a unique index's violation is a key in use.
        if (
          pgCode(error) === UNIQUE_VIOLATION &&
          (error as pg.DatabaseError).constraint === undefined
        ) {
          throw lookAlike();
        }
        if (pgCode(error) === UNIQUE_VIOLATION) {
          throw new KomradeError(
            'BAD_REQUEST',
            'These keys are already registered under another name; generate new keys.',
          );
        }
        throw error;
      }
      await this.#appendLeaf(client, komrade);
    });
  }

  setRatchetKey(name: string, ratchetKey: Uint8Array, sig: Uint8Array): Promise<RegisteredKomrade> {
    return this.#write(async (client) => {
      const { rows } = await client.query<KomradeRow>(
        `SELECT ${KOMRADE_COLUMNS} FROM komrades WHERE name = $1 FOR UPDATE`,
        [name],
      );
      const row = rows[0];
      if (row === undefined) throw new KomradeError('NAME_UNKNOWN', 'No komrade by that name.');
      if (row.ratchet_key !== null) {
        if (Buffer.from(ratchetKey).equals(row.ratchet_key)) return toKomrade(row);
        throw new KomradeError(
          'RATCHET_KEY_SET',
          `@${name} has a ratchet key already; it never changes.`,
        );
      }
      let updated: KomradeRow | undefined;
      try {
        const result = await client.query<KomradeRow>(
          `UPDATE komrades SET ratchet_key = $1, sig = $2 WHERE name = $3 RETURNING ${KOMRADE_COLUMNS}`,
          [ratchetKey, sig, name],
        );
        updated = result.rows[0];
      } catch (error) {
        if (pgCode(error) === UNIQUE_VIOLATION) {
          throw new KomradeError(
            'BAD_REQUEST',
            'This ratchet key is already registered under another name.',
          );
        }
        throw error;
      }
      if (updated === undefined) throw new Error('the komrade vanished while being updated');
      const komrade = toKomrade(updated);
      await this.#appendLeaf(client, komrade);
      return komrade;
    });
  }

  lookup(name: string): Promise<RegisteredKomrade | undefined> {
    return this.#read(async (db) => {
      const { rows } = await db.query<KomradeRow>(
        `SELECT ${KOMRADE_COLUMNS} FROM komrades WHERE name = $1`,
        [name],
      );
      return rows[0] === undefined ? undefined : toKomrade(rows[0]);
    });
  }

  /**
   * Appends the receipt as the log's next leaf and stores every subtree it completes. Last in
   * its transaction: the size row's lock serializes every append across Operators.
   */
  async #appendLeaf(client: Queryable, komrade: RegisteredKomrade): Promise<void> {
    const { rows } = await client.query<{ idx: number }>(
      'UPDATE registry_log_size SET size = size + 1 RETURNING size - 1 AS idx',
    );
    const index = rows[0]?.idx;
    if (index === undefined) throw new Error('registry_log_size has no row');
    await client.query(
      `INSERT INTO registry_log (idx, ${KOMRADE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        index,
        komrade.name,
        komrade.signKey,
        komrade.boxKey,
        komrade.keyHolder,
        komrade.ratchetKey,
        komrade.registeredAt,
        komrade.sig,
      ],
    );
    const levels: number[] = [0];
    const indexes: number[] = [index];
    const leaf = leafHash(receiptLeaf(komrade));
    const hashes: Uint8Array[] = [leaf];
    // The leftmost siblings this leaf closes: one per trailing 1 bit of its index.
    const siblings: { level: number; idx: number }[] = [];
    for (let level = 0, i = index; i % 2 === 1; level++, i = Math.floor(i / 2)) {
      siblings.push({ level, idx: i - 1 });
    }
    if (siblings.length > 0) {
      const found = await client.query<{ level: number; idx: number; hash: Buffer }>(
        `SELECT level, idx, hash FROM registry_log_nodes
         WHERE (level, idx) IN (SELECT * FROM unnest($1::smallint[], $2::bigint[]))`,
        [siblings.map((s) => s.level), siblings.map((s) => s.idx)],
      );
      const byKey = new Map(found.rows.map((row) => [`${row.level}:${row.idx}`, row.hash]));
      let hash = leaf;
      for (const sibling of siblings) {
        const left = byKey.get(`${sibling.level}:${sibling.idx}`);
        if (left === undefined) throw new Error('the registry log lacks a subtree hash');
        hash = nodeHash(bytes(left), hash);
        levels.push(sibling.level + 1);
        indexes.push(Math.floor(sibling.idx / 2));
        hashes.push(hash);
      }
    }
    await client.query(
      `INSERT INTO registry_log_nodes (level, idx, hash)
       SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`,
      [levels, indexes, hashes],
    );
  }

  /** The log's committed size (leaves 0 … size − 1 and their nodes are all committed). */
  async #logSize(db: Queryable): Promise<number> {
    const { rows } = await db.query<{ size: number }>('SELECT size FROM registry_log_size');
    const size = rows[0]?.size;
    if (size === undefined) throw new Error('registry_log_size has no row');
    return size;
  }

  /**
   * Runs `compute` on the tree of `size` leaves. Which nodes a root or proof reads depends only
   * on sizes and indexes, never on hashes, so a first dry run learns them, one query fetches
   * them, and the second run computes with the real hashes.
   */
  async #withNodes<T>(
    db: Queryable,
    size: number,
    compute: (source: MerkleNodeSource) => T,
  ): Promise<T> {
    const wanted = new Map<string, { level: number; idx: number }>();
    const placeholder = new Uint8Array(32);
    compute({
      size,
      perfectNode(level, idx) {
        wanted.set(`${level}:${idx}`, { level, idx });
        return placeholder;
      },
    });
    const keys = [...wanted.values()];
    const { rows } = await db.query<{ level: number; idx: number; hash: Buffer }>(
      `SELECT level, idx, hash FROM registry_log_nodes
       WHERE (level, idx) IN (SELECT * FROM unnest($1::smallint[], $2::bigint[]))`,
      [keys.map((k) => k.level), keys.map((k) => k.idx)],
    );
    const nodes = new Map(rows.map((row) => [`${row.level}:${row.idx}`, bytes(row.hash)]));
    return compute({
      size,
      perfectNode(level, idx) {
        const hash = nodes.get(`${level}:${idx}`);
        if (hash === undefined) throw new Error('the registry log lacks a subtree hash');
        return hash;
      },
    });
  }

  logHead(): Promise<LogHead> {
    return this.#read(async (db) => {
      const size = await this.#logSize(db);
      const rootHash_ =
        size === 0 ? emptyRoot() : await this.#withNodes(db, size, (s) => rootHash(s));
      return { size, rootHash: rootHash_ };
    });
  }

  logInclusions(names: readonly string[]): Promise<LogInclusions> {
    return this.#read(async (db) => {
      const size = await this.#logSize(db);
      const { rows } = await db.query<LogRow>(
        `SELECT DISTINCT ON (name) idx, ${KOMRADE_COLUMNS} FROM registry_log
         WHERE name = ANY($1::text[]) AND idx < $2 ORDER BY name, idx DESC`,
        [[...new Set(names)], size],
      );
      if (size === 0) return { head: { size, rootHash: emptyRoot() }, proofs: new Map() };
      const { root, paths } = await this.#withNodes(db, size, (source) => ({
        root: rootHash(source),
        paths: rows.map((row) => inclusionProof(source, row.idx, size)),
      }));
      const proofs = new Map<string, LogLeafProof>();
      rows.forEach((row, i) => {
        proofs.set(row.name, { entry: toKomrade(row), index: row.idx, hashes: paths[i] ?? [] });
      });
      return { head: { size, rootHash: root }, proofs };
    });
  }

  logInclusionAt(index: number, size: number): Promise<Uint8Array[]> {
    return this.#read(async (db) => {
      const logSize = await this.#logSize(db);
      // Checks before any node is read: BAD_REQUEST unless index < size ≤ the log's size.
      inclusionProof({ size: logSize, perfectNode: () => new Uint8Array(32) }, index, size);
      return this.#withNodes(db, logSize, (source) => inclusionProof(source, index, size));
    });
  }

  logConsistency(from: number, to: number): Promise<Uint8Array[]> {
    return this.#read(async (db) => {
      const logSize = await this.#logSize(db);
      consistencyProof({ size: logSize, perfectNode: () => new Uint8Array(32) }, from, to);
      return this.#withNodes(db, logSize, (source) => consistencyProof(source, from, to));
    });
  }

  logEntries(start: number, end: number): Promise<RegisteredKomrade[]> {
    return this.#read(async (db) => {
      checkRange(start, end, await this.#logSize(db));
      const { rows } = await db.query<LogRow>(
        `SELECT idx, ${KOMRADE_COLUMNS} FROM registry_log WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
        [start, end],
      );
      return rows.map(toKomrade);
    });
  }

  // ——— Prekeys ———

  /** Locks the name's row (uploads and hand-outs of one name take turns); NAME_UNKNOWN if none. */
  async #lockName(client: Queryable, name: string): Promise<boolean> {
    const { rowCount } = await client.query(
      'SELECT 1 FROM komrades WHERE name = $1 FOR NO KEY UPDATE',
      [name],
    );
    return rowCount === 1;
  }

  storePrekeys(name: string, upload: PrekeysToStore, maxOneTime: number): Promise<PrekeyCounts> {
    return this.#write(async (client) => {
      if (!(await this.#lockName(client, name))) {
        throw new KomradeError('NAME_UNKNOWN', 'No komrade by that name.');
      }
      const oneTime = upload.oneTimePrekeys ?? [];
      // Rolled back with the rest if the upload is refused below.
      if (upload.replaceOneTime === true) {
        await client.query('DELETE FROM one_time_prekeys WHERE name = $1', [name]);
      }
      const ids = oneTime.map((key) => key.id);
      const usedTwice = ids.find((id, i) => ids.indexOf(id) !== i);
      const held =
        ids.length === 0
          ? []
          : (
              await client.query<{ id: number }>(
                'SELECT id FROM one_time_prekeys WHERE name = $1 AND id = ANY($2::integer[]) ORDER BY id LIMIT 1',
                [name, ids],
              )
            ).rows;
      const used = usedTwice ?? held[0]?.id;
      if (used !== undefined) {
        throw new KomradeError(
          'PREKEY_ID_USED',
          `One-time prekey ${used} is held already (or twice in this upload); use new ids.`,
        );
      }
      const { rows: countRows } = await client.query<{ n: number }>(
        'SELECT count(*) AS n FROM one_time_prekeys WHERE name = $1',
        [name],
      );
      const count = countRows[0]?.n ?? 0;
      if (count + oneTime.length > maxOneTime) {
        throw new KomradeError(
          'PREKEYS_FULL',
          `The Operator keeps at most ${maxOneTime} one-time prekeys per name; ${count} are held.`,
        );
      }
      for (const [table, key] of [
        ['signed_prekeys', upload.signedPrekey],
        ['kyber_prekeys', upload.kyberPrekey],
      ] as const) {
        if (key === undefined) continue;
        await client.query(
          `INSERT INTO ${table} (name, id, public_key, signature) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE
             SET id = excluded.id, public_key = excluded.public_key, signature = excluded.signature`,
          [name, key.id, key.publicKey, key.signature],
        );
      }
      if (oneTime.length > 0) {
        await client.query(
          `INSERT INTO one_time_prekeys (name, id, public_key)
           SELECT $1, * FROM unnest($2::integer[], $3::bytea[])`,
          [name, ids, oneTime.map((key) => key.publicKey)],
        );
      }
      const { rows } = await client.query<{ signed: boolean; kyber: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM signed_prekeys WHERE name = $1) AS signed,
                EXISTS (SELECT 1 FROM kyber_prekeys WHERE name = $1) AS kyber`,
        [name],
      );
      return {
        oneTimeLeft: count + oneTime.length,
        signedPrekey: rows[0]?.signed === true,
        kyberPrekey: rows[0]?.kyber === true,
      };
    });
  }

  /**
   * Records `spend`, or finds it recorded: `undefined` when new, else the letter it paid for.
   * A concurrent spend of the same token waits on the primary key, then finds the winner's row.
   * @throws KomradeError `TOKEN_SPENT` when it paid for something other than `spend.letterHash`
   */
  async #spend(
    client: Queryable,
    spend: TokenSpend,
    letter: Uint8Array,
    what: string,
  ): Promise<Buffer | undefined> {
    const inserted = await client.query(
      `INSERT INTO spent_tokens (epoch, input_hash, letter_hash, letter) VALUES ($1, $2, $3, $4)
       ON CONFLICT (epoch, input_hash) DO NOTHING`,
      [spend.epoch, spend.inputHash, spend.letterHash, letter],
    );
    if (inserted.rowCount === 1) return undefined;
    const { rows } = await client.query<{ letter_hash: Buffer; letter: Buffer }>(
      'SELECT letter_hash, letter FROM spent_tokens WHERE epoch = $1 AND input_hash = $2',
      [spend.epoch, spend.inputHash],
    );
    const spent = rows[0];
    if (spent === undefined) throw new Error('a spent token vanished while being read');
    if (!Buffer.from(spend.letterHash).equals(spent.letter_hash)) {
      throw new KomradeError(
        'TOKEN_SPENT',
        `This token was already spent on ${what}; take a fresh one.`,
      );
    }
    return spent.letter;
  }

  takeBundle(spend: TokenSpend, name: string, limit: HandoutLimit): Promise<TakenBundle> {
    return this.#write(async (client) => {
      await this.#lockName(client, name);
      const { rows } = await client.query<PrekeyRow & { kind: string }>(
        `SELECT 'signed' AS kind, id, public_key, signature FROM signed_prekeys WHERE name = $1
         UNION ALL
         SELECT 'kyber', id, public_key, signature FROM kyber_prekeys WHERE name = $1`,
        [name],
      );
      const signed = rows.find((row) => row.kind === 'signed');
      const kyber = rows.find((row) => row.kind === 'kyber');
      if (signed === undefined || kyber === undefined) {
        throw new KomradeError('PREKEYS_MISSING', `@${name} has not published prekeys yet.`);
      }
      const bundle = { signedPrekey: toPrekey(signed), kyberPrekey: toPrekey(kyber) };
      // A retry: its one-time prekey went with the first answer, and none goes again.
      if ((await this.#spend(client, spend, NO_LETTER, 'something else')) !== undefined) {
        return { ...bundle, repeated: true };
      }
      const counted = await client.query<{ hour: number; handed: number }>(
        'SELECT hour, handed FROM prekey_handouts WHERE name = $1',
        [name],
      );
      const row = counted.rows[0];
      const handed = row !== undefined && row.hour === limit.hour ? row.handed : 0;
      if (handed >= limit.perHour) return { ...bundle, repeated: false };
      // The lowest id: the oldest batch goes first.
      const taken = await client.query<{ id: number; public_key: Buffer }>(
        `DELETE FROM one_time_prekeys
         WHERE name = $1 AND id = (SELECT min(id) FROM one_time_prekeys WHERE name = $1)
         RETURNING id, public_key`,
        [name],
      );
      const key = taken.rows[0];
      if (key === undefined) return { ...bundle, repeated: false };
      await client.query(
        `INSERT INTO prekey_handouts (name, hour, handed) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET hour = excluded.hour, handed = excluded.handed`,
        [name, limit.hour, handed + 1],
      );
      const oneTimePrekey: OneTimePrekey = { id: key.id, publicKey: bytes(key.public_key) };
      return { ...bundle, oneTimePrekey, repeated: false };
    });
  }

  sweepPrekeyHandouts(hour: number): Promise<number> {
    return this.#write(async (client) => {
      const { rowCount } = await client.query('DELETE FROM prekey_handouts WHERE hour < $1', [
        hour,
      ]);
      return rowCount ?? 0;
    });
  }

  // ——— Mailbox ———

  /**
   * Locks the recipients' rows (in name order, so two batches cannot deadlock) and throws
   * `MAILBOX_FULL` when adding `letters` would put one over `quota`: with the lock held, two
   * Operators depositing at once cannot both fill the last place.
   */
  async #checkQuota(
    client: Queryable,
    letters: readonly LetterToDeposit[],
    quota: number,
  ): Promise<void> {
    const added = new Map<string, number>();
    for (const letter of letters) added.set(letter.to, (added.get(letter.to) ?? 0) + 1);
    const recipients = [...added.keys()];
    await client.query(
      'SELECT name FROM komrades WHERE name = ANY($1::text[]) ORDER BY name FOR NO KEY UPDATE',
      [recipients],
    );
    const { rows } = await client.query<{ recipient: string; n: number }>(
      `SELECT recipient, count(*) AS n FROM letters WHERE recipient = ANY($1::text[])
       GROUP BY recipient`,
      [recipients],
    );
    const held = new Map(rows.map((row) => [row.recipient, row.n]));
    for (const [recipient, count] of added) {
      if ((held.get(recipient) ?? 0) + count > quota) {
        throw new KomradeError(
          'MAILBOX_FULL',
          'A recipient’s mailbox is full; try again after they fetch their letters.',
        );
      }
    }
  }

  /** Inserts letters in the order given (their `seq` orders each mailbox). */
  async #insertLetters(
    client: Queryable,
    letters: readonly LetterToDeposit[],
    options: DepositOptions,
    body: Uint8Array | null,
  ): Promise<Uint8Array[]> {
    const ids = letters.map(() => randomBytes(ID_BYTES));
    await client.query(
      `INSERT INTO letters (id, recipient, sealed, received_at, expires_at, body)
       SELECT id, recipient, sealed, $4::bigint, $5::bigint, $6::bytea
       FROM unnest($1::bytea[], $2::text[], $3::bytea[]) WITH ORDINALITY AS l (id, recipient, sealed, n)
       ORDER BY n`,
      [
        ids,
        letters.map((letter) => letter.to),
        letters.map((letter) => letter.sealed),
        letterTime(options.receivedAt),
        options.expiresAt,
        body,
      ],
    );
    return ids;
  }

  deposit(letters: readonly LetterToDeposit[], options: DepositOptions): Promise<Uint8Array[]> {
    return this.#write(async (client) => {
      await this.#checkQuota(client, letters, options.quota);
      const ids = await this.#insertLetters(client, letters, options, null);
      await this.#signalMail(client);
      return ids;
    });
  }

  depositShared(letter: SharedLetterToDeposit, options: DepositOptions): Promise<Uint8Array> {
    return this.#write(async (client) => {
      await this.#checkQuota(client, letter.envelopes, options.quota);
      const body = randomBytes(ID_BYTES);
      await client.query('INSERT INTO letter_bodies (id, sealed, expires_at) VALUES ($1, $2, $3)', [
        body,
        letter.body,
        options.expiresAt,
      ]);
      await this.#insertLetters(client, letter.envelopes, options, body);
      await this.#signalMail(client);
      return body;
    });
  }

  fetch(
    recipient: string,
    limit: number,
    now: number,
  ): Promise<{ letters: StoredLetter[]; more: boolean }> {
    return this.#read(async (db) => {
      const { rows } = await db.query<LetterRow>(
        `SELECT l.id, l.sealed, l.received_at, b.sealed AS body
         FROM letters AS l LEFT JOIN letter_bodies AS b ON b.id = l.body
         WHERE l.recipient = $1 AND l.expires_at > $2 ORDER BY l.seq LIMIT $3`,
        [recipient, now, limit + 1],
      );
      const letters = rows.slice(0, limit).map((row): StoredLetter => ({
        id: bytes(row.id),
        sealed: bytes(row.sealed),
        receivedAt: row.received_at,
        ...(row.body === null ? {} : { body: bytes(row.body) }),
      }));
      return { letters, more: rows.length > limit };
    });
  }

  hasMail(recipients: readonly string[], now: number): Promise<string[]> {
    return this.#read(async (db) => {
      if (recipients.length === 0) return [];
      const { rows } = await db.query<{ recipient: string }>(
        `SELECT DISTINCT recipient FROM letters
         WHERE recipient = ANY($1::text[]) AND expires_at > $2`,
        [[...recipients], now],
      );
      const holding = new Set(rows.map((row) => row.recipient));
      return recipients.filter((recipient) => holding.has(recipient));
    });
  }

  /**
   * Deletes `bodies` no letter refers to any more. Their rows are locked first, so of two
   * transactions deleting a body's last two letters at once the second, after the first
   * committed, sees no letter left and deletes the body.
   */
  async #deleteUnreferencedBodies(client: Queryable, bodies: readonly Buffer[]): Promise<void> {
    if (bodies.length === 0) return;
    await client.query(
      'SELECT 1 FROM letter_bodies WHERE id = ANY($1::bytea[]) ORDER BY id FOR UPDATE',
      [bodies],
    );
    await client.query(
      `DELETE FROM letter_bodies AS b WHERE b.id = ANY($1::bytea[])
       AND NOT EXISTS (SELECT 1 FROM letters AS l WHERE l.body = b.id)`,
      [bodies],
    );
  }

  ack(recipient: string, ids: readonly Uint8Array[]): Promise<number> {
    return this.#write(async (client) => {
      if (ids.length === 0) return 0;
      const { rows } = await client.query<{ body: Buffer | null }>(
        'DELETE FROM letters WHERE id = ANY($1::bytea[]) AND recipient = $2 RETURNING body',
        [[...ids], recipient],
      );
      const bodies = rows.flatMap((row) => (row.body === null ? [] : [row.body]));
      await this.#deleteUnreferencedBodies(client, bodies);
      return rows.length;
    });
  }

  sweepExpiredLetters(now: number): Promise<number> {
    return this.#write(async (client) => {
      const { rows } = await client.query<{ body: Buffer | null }>(
        'DELETE FROM letters WHERE expires_at <= $1 RETURNING body',
        [now],
      );
      if (rows.length > 0) {
        // The swept letters' bodies, and any other left unreferenced (as SQLite's sweep does).
        const { rows: orphans } = await client.query<{ id: Buffer }>(
          `SELECT b.id FROM letter_bodies AS b
           WHERE NOT EXISTS (SELECT 1 FROM letters AS l WHERE l.body = b.id)`,
        );
        const bodies = new Map<string, Buffer>();
        for (const body of [...rows.map((row) => row.body), ...orphans.map((row) => row.id)]) {
          if (body !== null) bodies.set(body.toString('hex'), body);
        }
        await this.#deleteUnreferencedBodies(client, [...bodies.values()]);
      }
      return rows.length;
    });
  }

  // ——— Collectives ———

  createCollective(collective: NewCollective): Promise<void> {
    return this.#write(async (client) => {
      const skeleton = nameSkeleton(collective.name);
      await this.#claimName(client, collective.name, skeleton, {
        byKomrade: 'That name is taken by a komrade.',
        byCollective: 'That name is taken by another collective.',
      });
      await client.query(
        'INSERT INTO collectives (name, created_at, skeleton) VALUES ($1, $2, $3)',
        [collective.name, collective.createdAt, skeleton],
      );
      await client.query(
        'INSERT INTO collective_events (collective, seq, signed, sig) VALUES ($1, 0, $2, $3)',
        [collective.name, collective.genesis.signed, collective.genesis.sig],
      );
    });
  }

  isCollective(name: string): Promise<boolean> {
    return this.#read(async (db) => {
      const { rowCount } = await db.query('SELECT 1 FROM collectives WHERE name = $1', [name]);
      return rowCount === 1;
    });
  }

  appendCollectiveEvent(
    collective: string,
    seq: number,
    event: StoredCollectiveEvent,
  ): Promise<void> {
    return this.#write(async (client) => {
      const { rows } = await client.query<{ length: number | null }>(
        `SELECT (SELECT max(seq) + 1 FROM collective_events WHERE collective = $1) AS length
         FROM collectives WHERE name = $1`,
        [collective],
      );
      const found = rows[0];
      if (found === undefined)
        throw new KomradeError('NAME_UNKNOWN', 'No collective by that name.');
      const length = found.length ?? 0;
      const conflict = () =>
        new KomradeError(
          'COLLECTIVE_CONFLICT',
          `The log has ${length} events, so the next one is number ${length}, not ${seq}.`,
        );
      if (seq !== length) throw conflict();
      // Another Operator appending at this seq first: the primary key refuses the second.
      const inserted = await client.query(
        `INSERT INTO collective_events (collective, seq, signed, sig) VALUES ($1, $2, $3, $4)
         ON CONFLICT (collective, seq) DO NOTHING`,
        [collective, seq, event.signed, event.sig],
      );
      if (inserted.rowCount !== 1) throw conflict();
    });
  }

  collectiveEvents(
    collective: string,
    from: number,
    limit: number,
  ): Promise<StoredCollectiveEvent[]> {
    return this.#read(async (db) => {
      const { rows } = await db.query<{ signed: Buffer; sig: Buffer }>(
        `SELECT signed, sig FROM collective_events WHERE collective = $1 AND seq >= $2
         ORDER BY seq LIMIT $3`,
        [collective, from, limit],
      );
      return rows.map((row) => ({ signed: bytes(row.signed), sig: bytes(row.sig) }));
    });
  }

  // ——— Feed ———

  publish(post: StoredPost): Promise<void> {
    return this.#write(async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO posts (${POST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING`,
        [post.id, post.author, post.postedAt, post.expiresAt, post.signed, post.sig],
      );
      if (rowCount !== 1) {
        throw new KomradeError('POST_INVALID', 'A post with this id already exists.');
      }
    });
  }

  page(
    now: number,
    before: FeedPosition | undefined,
    limit: number,
  ): Promise<{ posts: StoredPost[]; more: boolean }> {
    return this.#read(async (db) => {
      const { rows } =
        before === undefined
          ? await db.query<PostRow>(
              `SELECT ${POST_COLUMNS} FROM posts WHERE expires_at > $1
               ORDER BY posted_at DESC, id DESC LIMIT $2`,
              [now, limit + 1],
            )
          : await db.query<PostRow>(
              `SELECT ${POST_COLUMNS} FROM posts WHERE expires_at > $1 AND (posted_at, id) < ($2, $3)
               ORDER BY posted_at DESC, id DESC LIMIT $4`,
              [now, before.postedAt, before.id, limit + 1],
            );
      return { posts: rows.slice(0, limit).map(toPost), more: rows.length > limit };
    });
  }

  sweepExpiredPosts(now: number): Promise<number> {
    return this.#write(async (client) => {
      const { rowCount } = await client.query('DELETE FROM posts WHERE expires_at <= $1', [now]);
      return rowCount ?? 0;
    });
  }

  // ——— Replay guard ———

  remember(name: string, nonce: Uint8Array, keepUntil: number): Promise<boolean> {
    return this.#write(async (client) => {
      // A concurrent insert of the same nonce elsewhere waits on the key, then does nothing.
      const { rowCount } = await client.query(
        `INSERT INTO nonces (name, nonce, keep_until) VALUES ($1, $2, $3)
         ON CONFLICT (name, nonce) DO NOTHING`,
        [name, nonce, keepUntil],
      );
      return rowCount === 1;
    });
  }

  sweepExpiredNonces(now: number): Promise<number> {
    return this.#write(async (client) => {
      const { rowCount } = await client.query('DELETE FROM nonces WHERE keep_until <= $1', [now]);
      return rowCount ?? 0;
    });
  }

  // ——— Tokens ———

  tokensIssued(name: string, epoch: number): Promise<number> {
    return this.#read(async (db) => {
      const { rows } = await db.query<{ issued: number }>(
        'SELECT issued FROM token_allowances WHERE name = $1 AND epoch = $2',
        [name, epoch],
      );
      return rows[0]?.issued ?? 0;
    });
  }

  recordIssued(
    name: string,
    epoch: number,
    count: number,
    allowance: number,
  ): Promise<number | undefined> {
    return this.#write(async (client) => {
      if (count > allowance) return undefined;
      // One statement: the row lock of the upsert makes two Operators' batches take turns.
      const { rows } = await client.query<{ issued: number }>(
        `INSERT INTO token_allowances (name, epoch, issued) VALUES ($1, $2, $3)
         ON CONFLICT (name, epoch) DO UPDATE SET issued = token_allowances.issued + excluded.issued
           WHERE token_allowances.issued + excluded.issued <= $4
         RETURNING issued`,
        [name, epoch, count, allowance],
      );
      const issued = rows[0]?.issued;
      return issued === undefined ? undefined : allowance - issued;
    });
  }

  spendAndDeposit(
    spend: TokenSpend,
    letter: LetterToDeposit,
    options: DepositOptions,
  ): Promise<SpentDeposit> {
    return this.#write(async (client) => {
      const receivedAt = letterTime(options.receivedAt);
      const id = randomBytes(ID_BYTES);
      const earlier = await this.#spend(client, spend, id, 'another letter');
      if (earlier !== undefined) {
        // An identical retry: the letter is there (or was, until its recipient acked it).
        const { rows } = await client.query<{ received_at: number }>(
          'SELECT received_at FROM letters WHERE id = $1',
          [earlier],
        );
        return {
          id: bytes(earlier),
          receivedAt: rows[0]?.received_at ?? receivedAt,
          repeated: true,
        };
      }
      // Refused here, the spend above is rolled back with the rest.
      await this.#checkQuota(client, [letter], options.quota);
      await client.query(
        `INSERT INTO letters (id, recipient, sealed, received_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)`,
        [id, letter.to, letter.sealed, receivedAt, options.expiresAt],
      );
      await this.#signalMail(client);
      return { id, receivedAt, repeated: false };
    });
  }

  sweepTokenEpochs(
    oldestAccepted: number,
    current: number,
  ): Promise<{ spent: number; allowances: number }> {
    return this.#write(async (client) => {
      const spent = await client.query('DELETE FROM spent_tokens WHERE epoch < $1', [
        oldestAccepted,
      ]);
      const allowances = await client.query('DELETE FROM token_allowances WHERE epoch < $1', [
        current,
      ]);
      return { spent: spent.rowCount ?? 0, allowances: allowances.rowCount ?? 0 };
    });
  }
}
