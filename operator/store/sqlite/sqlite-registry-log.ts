/**
 * The registry's transparency log in SQLite: one row per leaf (the receipt's fields and its leaf
 * hash) and one row per complete perfect subtree above the leaves, so a root or a proof reads
 * O(log n) rows (a few hundred at a million leaves) and an append writes at most log2(n) + 1.
 * Every method is synchronous and must run inside the caller's transaction (appends) or its one
 * read (a head and its proofs), which is what keeps indexes gapless and proofs consistent.
 */
import type Database from 'better-sqlite3';
import { KomradeError } from '../../../common/errors/index.js';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  nodeHash,
  rootHash,
  type MerkleNodeSource,
} from '../../../common/transparency/index.js';
import { MAX_LOG_ENTRIES, isKeyHolder, receiptLeaf } from '../../../common/wire/index.js';
import type { LogHead, LogInclusions, LogLeafProof } from '../registry-log.js';
import type { RegisteredKomrade } from '../registry.js';

interface LeafRow {
  idx: number;
  name: string;
  sign_key: Buffer;
  box_key: Buffer;
  key_holder: string;
  ratchet_key: Buffer | null;
  registered_at: number;
  sig: Buffer;
}

const bytes = (buffer: Buffer): Uint8Array =>
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

const toEntry = (row: LeafRow): RegisteredKomrade => {
  // The column has no CHECK of its own: the komrades row it copied had one.
  if (!isKeyHolder(row.key_holder)) throw new Error('registry_log.key_holder is not a key holder');
  return {
    name: row.name,
    signKey: bytes(row.sign_key),
    boxKey: bytes(row.box_key),
    keyHolder: row.key_holder,
    ratchetKey: row.ratchet_key === null ? null : bytes(row.ratchet_key),
    registeredAt: row.registered_at,
    sig: bytes(row.sig),
  };
};

const LEAF_COLUMNS = 'idx, name, sign_key, box_key, key_holder, ratchet_key, registered_at, sig';

/** The log's statements on one connection (the tables come from migration 8). */
export class SqliteRegistryLog {
  readonly #sql;
  /**
   * The last head computed, kept while the size stays its size: the root of a size never changes
   * and every append forgets it (even one a savepoint then rolls back).
   */
  #head: LogHead | undefined;

  constructor(db: Database.Database) {
    this.#sql = {
      size: db.prepare<[], number>('SELECT COALESCE(MAX(idx) + 1, 0) FROM registry_log').pluck(),
      insertLeaf: db.prepare<
        [
          number,
          string,
          Uint8Array,
          Uint8Array,
          string,
          Uint8Array | null,
          number,
          Uint8Array,
          Uint8Array,
        ]
      >(`INSERT INTO registry_log (${LEAF_COLUMNS}, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertNode: db.prepare<[number, number, Uint8Array]>(
        'INSERT INTO registry_log_nodes (level, idx, hash) VALUES (?, ?, ?)',
      ),
      leafHash: db
        .prepare<[number], Buffer>('SELECT leaf_hash FROM registry_log WHERE idx = ?')
        .pluck(),
      node: db
        .prepare<[number, number], Buffer>(
          'SELECT hash FROM registry_log_nodes WHERE level = ? AND idx = ?',
        )
        .pluck(),
      newestOf: db.prepare<[string], LeafRow>(
        `SELECT ${LEAF_COLUMNS} FROM registry_log WHERE name = ? ORDER BY idx DESC LIMIT 1`,
      ),
      entries: db.prepare<[number, number], LeafRow>(
        `SELECT ${LEAF_COLUMNS} FROM registry_log WHERE idx >= ? AND idx < ? ORDER BY idx`,
      ),
    };
  }

  /** Leaves in the log (its indexes are 0 to size − 1, every one present). */
  size(): number {
    return this.#sql.size.get() ?? 0;
  }

  /**
   * Appends `receipt`'s leaf at index = size, and the hash of every perfect subtree it completes.
   * Run it in the transaction that stores the row, so a refused write appends nothing.
   * @returns the new leaf's index
   */
  append(receipt: RegisteredKomrade): number {
    this.#head = undefined;
    const index = this.size();
    let hash = leafHash(receiptLeaf(receipt));
    this.#sql.insertLeaf.run(
      index,
      receipt.name,
      receipt.signKey,
      receipt.boxKey,
      receipt.keyHolder,
      receipt.ratchetKey,
      receipt.registeredAt,
      receipt.sig,
      hash,
    );
    // A right child completes its parent: climb while the node is one.
    let level = 0;
    let position = index;
    while (position % 2 === 1) {
      hash = nodeHash(this.#perfectNode(level, position - 1), hash);
      level += 1;
      position = (position - 1) / 2;
      this.#sql.insertNode.run(level, position, hash);
    }
    return index;
  }

  #perfectNode(level: number, index: number): Uint8Array {
    const hash = level === 0 ? this.#sql.leafHash.get(index) : this.#sql.node.get(level, index);
    // Every node asked for lies below the size: a missing one is a damaged database.
    if (hash === undefined) throw new Error(`registry log node ${level}/${index} is missing`);
    return bytes(hash);
  }

  /**
   * The tree as a node source at its current size, for one read: it remembers the nodes it
   * read, since a root and the proofs against it share the right edge's subtrees.
   */
  #source(): MerkleNodeSource {
    const read = new Map<string, Uint8Array>();
    return {
      size: this.size(),
      perfectNode: (level, index) => {
        const key = `${level}/${index}`;
        let hash = read.get(key);
        if (hash === undefined) {
          hash = this.#perfectNode(level, index);
          read.set(key, hash);
        }
        return hash;
      },
    };
  }

  head(): LogHead {
    return this.#headOf(this.#source());
  }

  #headOf(source: MerkleNodeSource): LogHead {
    const cached = this.#head;
    if (cached?.size === source.size) return cached;
    const head = { size: source.size, rootHash: rootHash(source) };
    this.#head = head;
    return head;
  }

  /** The newest leaf of each name with its proof, and the head, all at one size. */
  inclusions(names: readonly string[]): LogInclusions {
    const source = this.#source();
    const head = this.#headOf(source);
    const proofs = new Map<string, LogLeafProof>();
    for (const name of names) {
      if (proofs.has(name)) continue;
      const row = this.#sql.newestOf.get(name);
      if (row === undefined) continue;
      const hashes = inclusionProof(source, row.idx, source.size);
      proofs.set(name, { entry: toEntry(row), index: row.idx, hashes });
    }
    return { head, proofs };
  }

  inclusionAt(index: number, size: number): Uint8Array[] {
    return inclusionProof(this.#source(), index, size);
  }

  consistency(from: number, to: number): Uint8Array[] {
    return consistencyProof(this.#source(), from, to);
  }

  entries(start: number, end: number): RegisteredKomrade[] {
    const size = this.size();
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
      throw new KomradeError('BAD_REQUEST', 'log positions are whole numbers');
    }
    if (start < 0 || start > end || end > size) {
      throw new KomradeError('BAD_REQUEST', `entries need 0 ≤ start ≤ end ≤ ${size}`);
    }
    if (end - start > MAX_LOG_ENTRIES) {
      throw new KomradeError('BAD_REQUEST', `at most ${MAX_LOG_ENTRIES} entries at once`);
    }
    return this.#sql.entries.all(start, end).map(toEntry);
  }
}

/**
 * Migration 8's backfill: every registration already stored, in registration order (time, then
 * insertion), as its receipt is stored now (its current signature and ratchet key), one leaf each.
 */
export function appendExistingRegistrations(db: Database.Database): void {
  const log = new SqliteRegistryLog(db);
  if (log.size() !== 0) throw new Error('the registry log is not empty before its backfill');
  const rows = db
    .prepare<[], Omit<LeafRow, 'idx'>>(
      `SELECT name, sign_key, box_key, key_holder, ratchet_key, registered_at, sig
       FROM komrades ORDER BY registered_at, rowid`,
    )
    .all();
  for (const row of rows) log.append(toEntry({ ...row, idx: 0 }));
}
