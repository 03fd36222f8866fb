/**
 * Group commit: writes made within one event-loop turn share one transaction, committed (one
 * fsync) by a `setImmediate`. Callers await {@link GroupCommit.barrier} before answering anyone.
 * A turn that deleted content is scrubbed (WAL checkpoint + truncate) before its barrier
 * resolves, so once an ack is answered no file holds the deleted bytes.
 */
import type Database from 'better-sqlite3';

interface Pending {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** Something was deleted: scrub the WAL after commit so deleted bytes leave the disk too. */
  scrub: boolean;
}

const SETTLED = Promise.resolve();

function pending(): Pending {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every writer awaits this promise; the no-op only keeps a failure with no waiter from crashing.
  promise.catch(() => undefined);
  return { promise, resolve, reject, scrub: false };
}

/**
 * Copies the WAL into the database file and truncates it to zero bytes. With `secure_delete`
 * on, the pages a delete wrote are zeroed where the row was, so after this neither the `.db` nor
 * the `-wal` holds deleted bytes (the `-shm` holds only page numbers, never content).
 * @returns false when another connection kept the checkpoint from finishing (nothing is lost)
 * @throws whatever SQLite throws (e.g. an I/O error)
 */
export function scrubWal(db: Database.Database): boolean {
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number }[];
  return result?.busy === 0 && result.log === 0;
}

/** How long after a failed scrub (another reader, a busy disk) it is tried again. */
export const DEFAULT_SCRUB_RETRY_MS = 200;

/** Batches the writes of one turn into one transaction on a single better-sqlite3 connection. */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #savepoint: Database.Statement;
  readonly #release: Database.Statement;
  readonly #rollbackTo: Database.Statement;
  readonly #scrubRetryMs: number;
  #pending: Pending | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Barriers of committed turns whose deleted bytes may still be in the WAL. */
  #scrubWaiters: Pending[] = [];

  /**
   * @param scrubRetryMs - wait before retrying a scrub that could not finish; the barriers of
   * the turns that deleted something stay pending until one does
   */
  constructor(db: Database.Database, scrubRetryMs = DEFAULT_SCRUB_RETRY_MS) {
    this.#db = db;
    this.#scrubRetryMs = scrubRetryMs;
    this.#savepoint = db.prepare('SAVEPOINT step');
    this.#release = db.prepare('RELEASE step');
    this.#rollbackTo = db.prepare('ROLLBACK TO step');
  }

  /**
   * Runs `step` atomically (in a savepoint) inside the turn's transaction, opening it if needed.
   * A throwing step leaves no trace; the other steps of the turn are unaffected.
   * @param scrub - the step deletes content that must not linger in the WAL
   */
  write<T>(step: () => T, scrub = false): T {
    if (this.#pending === undefined) {
      this.#db.exec('BEGIN IMMEDIATE');
      const opened = pending();
      this.#pending = opened;
      setImmediate(() => {
        this.#commit(opened);
      });
    } else if (!this.#db.inTransaction) {
      // SQLite rolled this turn back (e.g. disk full): a bare SAVEPOINT would autocommit alone.
      throw new Error('the transaction of this turn was rolled back by SQLite');
    }
    this.#savepoint.run();
    try {
      const result = step();
      this.#release.run();
      if (scrub) this.#pending.scrub = true;
      return result;
    } catch (error) {
      // SQLite may already have rolled the whole transaction back (e.g. disk full).
      if (this.#db.inTransaction) {
        this.#rollbackTo.run();
        this.#release.run();
      }
      throw error;
    }
  }

  /**
   * Resolves once everything written so far in this turn is durable (at once if nothing is) and,
   * if the turn deleted something, once the WAL is scrubbed of it.
   */
  barrier(): Promise<void> {
    return this.#pending?.promise ?? SETTLED;
  }

  /** Resolves once no WAL scrub is owed: stale copies of deleted rows are gone from disk. */
  async scrubbed(): Promise<void> {
    await Promise.all(this.#scrubWaiters.map((waiter) => waiter.promise));
  }

  /** Commits the open transaction and scrubs now if a scrub is owed (before closing). */
  async flush(): Promise<void> {
    const open = this.#pending;
    if (open !== undefined) this.#commit(open);
    try {
      await (open?.promise ?? SETTLED);
    } finally {
      if (this.#scrubWaiters.length > 0) {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        if (!this.#tryScrub()) {
          const error = new Error('the WAL could not be scrubbed before closing');
          for (const waiter of this.#scrubWaiters.splice(0)) waiter.reject(error);
        }
      }
    }
  }

  /** Scrubs now; on success releases every barrier waiting for a scrub. */
  #tryScrub(): boolean {
    let done: boolean;
    try {
      done = scrubWal(this.#db);
    } catch {
      done = false;
    }
    if (!done) return false;
    for (const waiter of this.#scrubWaiters.splice(0)) waiter.resolve();
    return true;
  }

  #retryScrub(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      // A checkpoint cannot run inside this connection's open transaction: retry after its commit.
      if (this.#scrubWaiters.length === 0) return;
      if (this.#pending !== undefined || !this.#tryScrub()) this.#retryScrub();
    }, this.#scrubRetryMs);
  }

  #commit(open: Pending): void {
    if (this.#pending !== open) return;
    this.#pending = undefined;
    try {
      if (!this.#db.inTransaction) throw new Error('transaction was rolled back by SQLite');
      this.#db.exec('COMMIT');
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      open.reject(error);
      return;
    }
    if (!open.scrub) {
      open.resolve();
      return;
    }
    // Answer nobody while a committed delete may still sit in the WAL: a crash after the answer
    // would leave the deleted bytes on disk. The cost is one checkpoint per turn that deleted.
    this.#scrubWaiters.push(open);
    if (!this.#tryScrub()) this.#retryScrub();
  }
}
