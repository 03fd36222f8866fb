/**
 * Group commit: writes made within one event-loop turn share one transaction, committed (one
 * fsync) by a `setImmediate`. Callers await {@link GroupCommit.barrier} before answering anyone.
 * Deletes also schedule a WAL scrub (checkpoint + truncate), at most once per scrub interval.
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

/** How often at most the WAL is checkpointed and truncated after deletes. */
export const DEFAULT_SCRUB_INTERVAL_MS = 200;

/** Batches the writes of one turn into one transaction on a single better-sqlite3 connection. */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #savepoint: Database.Statement;
  readonly #release: Database.Statement;
  readonly #rollbackTo: Database.Statement;
  readonly #scrubIntervalMs: number;
  #pending: Pending | undefined;
  #scrubTimer: NodeJS.Timeout | undefined;
  #lastScrubAt = 0;
  #scrubWaiters: (() => void)[] = [];

  /**
   * @param scrubIntervalMs - least time between two WAL scrubs; a delete's stale copies in the WAL
   * are overwritten within about this long
   */
  constructor(db: Database.Database, scrubIntervalMs = DEFAULT_SCRUB_INTERVAL_MS) {
    this.#db = db;
    this.#scrubIntervalMs = scrubIntervalMs;
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

  /** Resolves once no WAL scrub is pending: stale copies of deleted rows are gone from disk. */
  scrubbed(): Promise<void> {
    if (this.#scrubTimer === undefined) return SETTLED;
    return new Promise((resolve) => this.#scrubWaiters.push(resolve));
  }

  /** Commits the open transaction and runs a pending scrub now (before closing). */
  async flush(): Promise<void> {
    const open = this.#pending;
    if (open !== undefined) this.#commit(open);
    try {
      await (open?.promise ?? SETTLED);
    } finally {
      if (this.#scrubTimer !== undefined) {
        clearTimeout(this.#scrubTimer);
        this.#scrubTimer = undefined;
        this.#scrub();
      }
    }
  }

  #scheduleScrub(): void {
    if (this.#scrubTimer !== undefined) return;
    const wait = Math.max(0, this.#lastScrubAt + this.#scrubIntervalMs - Date.now());
    this.#scrubTimer = setTimeout(() => {
      this.#scrubTimer = undefined;
      // A checkpoint cannot run inside this connection's open transaction: retry after its commit.
      if (this.#pending !== undefined) this.#scheduleScrub();
      else this.#scrub();
    }, wait);
  }

  #scrub(): void {
    try {
      // Deleted rows still sit in old WAL frames until overwritten: copy the WAL into the
      // database (where secure_delete zeroed them) and truncate it, so deleted means gone.
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
      this.#lastScrubAt = Date.now();
    } catch {
      // Busy or failing disk: try again on the next interval rather than lose the scrub.
      this.#scheduleScrub();
      return;
    }
    const waiters = this.#scrubWaiters;
    this.#scrubWaiters = [];
    for (const resolve of waiters) resolve();
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
    if (open.scrub) this.#scheduleScrub();
    open.resolve();
  }
}
