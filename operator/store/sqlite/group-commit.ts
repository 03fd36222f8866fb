/**
 * Group commit: writes made within one event-loop turn share one transaction, committed (one
 * fsync) by a `setImmediate`. Each caller awaits the commit that holds its write before answering.
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

/** Batches the writes of one turn into one transaction on a single better-sqlite3 connection. */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #savepoint: Database.Statement;
  readonly #release: Database.Statement;
  readonly #rollbackTo: Database.Statement;
  #pending: Pending | undefined;

  constructor(db: Database.Database) {
    this.#db = db;
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

  /** Resolves once everything written so far in this turn is durable (at once if nothing is). */
  barrier(): Promise<void> {
    return this.#pending?.promise ?? SETTLED;
  }

  /** Commits the open transaction now (before closing). */
  flush(): Promise<void> {
    const open = this.#pending;
    if (open !== undefined) this.#commit(open);
    return open?.promise ?? SETTLED;
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
    if (open.scrub) {
      // Deleted letters still sit in old WAL frames until they are overwritten: checkpoint and
      // truncate the WAL so ack means gone from disk, not just unreachable.
      try {
        this.#db.pragma('wal_checkpoint(TRUNCATE)');
      } catch (error) {
        open.reject(error);
        return;
      }
    }
    open.resolve();
  }
}
